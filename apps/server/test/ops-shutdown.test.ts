/**
 * Graceful shutdown. The process test runs the real entry point
 * (`node --import tsx src/main.ts`) against a standalone embedded MongoDB
 * owned by the test, streams acknowledged messages into it, sends SIGTERM
 * mid-stream, and then reads the database the process left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MongoClient, ObjectId } from 'mongodb'
import { WebSocket } from 'ws'
import type { AppRouter } from '@parley/api'
import { startEmbeddedMongo } from '@parley/embedded-mongo'
import { createClient } from '@parley/testing'
import { startTestServer } from './factory.ts'

describe('SIGTERM on the real process', () => {
  let mongo: Awaited<ReturnType<typeof startEmbeddedMongo>>
  let child: ChildProcess | null = null
  const dbName = `parley_shutdown_${randomUUID().slice(0, 8)}`

  beforeAll(async () => {
    mongo = await startEmbeddedMongo({ port: 0 })
  })
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL')
    await mongo.stop()
  })

  function startChild(): Promise<{ url: string; output: string[]; exit: Promise<{ code: number | null; at: number }> }> {
    const mongoUrl = process.env.MONGODB_URL ? process.env.MONGODB_URL.replace(/\/[^/?]*(\?|$)/, `/${dbName}$1`) : `${mongo.url}/${dbName}`
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url),
      env: {
        ...process.env,
        NODE_ENV: 'test',
        PORT: '0',
        HOST: '127.0.0.1',
        NODE_ID: 'sigterm-node',
        LOG_LEVEL: 'info',
        MONGODB_URL: mongoUrl,
        REDIS_URL: '',
        ARGON2_MEMORY_KIB: '1024',
        ARGON2_TIME_COST: '1',
        SEND_RATE_LIMIT: '100000',
        SHUTDOWN_TIMEOUT_MS: '5000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const output: string[] = []
    const exit = new Promise<{ code: number | null; at: number }>((resolve) => child!.once('exit', (code) => resolve({ code, at: Date.now() })))
    return new Promise((resolve, reject) => {
      let buffered = ''
      const onData = (d: Buffer) => {
        buffered += d.toString()
        let nl: number
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl)
          buffered = buffered.slice(nl + 1)
          output.push(line)
          try {
            const j = JSON.parse(line) as { msg?: string; port?: number }
            if (j.msg === 'Parley is listening') resolve({ url: `http://127.0.0.1:${j.port}`, output, exit })
          } catch {
            /* not JSON */
          }
        }
      }
      child!.stdout!.on('data', onData)
      child!.stderr!.on('data', (d: Buffer) => output.push(d.toString()))
      void exit.then(({ code }) => reject(new Error(`exited ${code} before listening:\n${output.join('\n')}`)))
    })
  }

  it('loses no acknowledged message, tells WebSockets to reconnect, and exits 0 in bounded time', async () => {
    const { url, output, exit } = await startChild()
    const alice = createClient<AppRouter>(url)
    await alice.trpc.auth.register.mutate({ username: `sig_${randomUUID().slice(0, 8)}`, password: 'correct horse battery' })
    const roomId = (await alice.trpc.rooms.create.mutate({ name: 'sigterm', visibility: 'public' })).id

    // A subscriber on a raw socket, to see exactly what the server says.
    const ws = new WebSocket(`${url.replace('http', 'ws')}/trpc`, { headers: { cookie: alice.jar.cookie! } })
    await new Promise((r) => ws.once('open', r))
    const frames: string[] = []
    ws.on('message', (m) => frames.push(m.toString()))
    const wsClosed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    ws.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'events.room', input: { roomId } } }))
    await expect.poll(() => frames.some((f) => f.includes('"started"')), { timeout: 10_000 }).toBe(true)

    // Four senders stream messages; every acknowledged id is remembered.
    const acked: string[] = []
    let failures = 0
    let stop = false
    const sender = async (n: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const m = await alice.trpc.messages.send.mutate({ roomId, clientId: `s${n}-${i}`, body: `message ${n}/${i}` })
          acked.push(m.id)
        } catch {
          failures++
          await new Promise((r) => setTimeout(r, 20))
          if (failures > 200) return
        }
      }
    }
    const senders = [0, 1, 2, 3].map(sender)
    await expect.poll(() => acked.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(40)

    const signalledAt = Date.now()
    child!.kill('SIGTERM')
    const { code, at } = await exit
    stop = true
    await Promise.all(senders)

    expect(code, output.join('\n')).toBe(0)
    expect(at - signalledAt).toBeLessThan(5000 + 5000)
    // WebSocket clients got tRPC's reconnect notification, then a "going away" close.
    expect(frames.some((f) => f.includes('"method":"reconnect"'))).toBe(true)
    expect([1001, 1006]).toContain(await wsClosed)
    const logs = output.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string })
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']))

    // Every acknowledged message is in the database the process left behind
    // (a message is stored as its message.created event, under the message's id).
    const client = new MongoClient(process.env.MONGODB_URL ?? `${mongo.url}`)
    await client.connect()
    try {
      const stored = await client
        .db(dbName)
        .collection('events')
        .find({ _id: { $in: acked.map((id) => new ObjectId(id)) }, 'data.type': 'message.created' }, { projection: { _id: 1 } })
        .toArray()
      const storedIds = new Set(stored.map((d) => d._id.toHexString()))
      expect(acked.filter((id) => !storedIds.has(id))).toEqual([])
    } finally {
      await client.close()
    }
    await alice.close()
  }, 60_000)
})

describe('app.close()', () => {
  it('turns /readyz 503 at once, refuses new WebSockets, answers and stores the sends in flight, and closes sockets with 1001', async () => {
    const server = await startTestServer({ SHUTDOWN_TIMEOUT_MS: '3000' })
    const alice = await server.signUp()
    const roomId = (await alice.trpc.rooms.create.mutate({ name: 'closing', visibility: 'public' })).id

    // A probe whose request is half sent when shutdown starts (so its connection is not idle).
    const probe = net.connect(server.port, '127.0.0.1')
    await new Promise((r) => probe.once('connect', r))
    let probeAnswer = ''
    probe.on('data', (d) => (probeAnswer += d.toString()))
    probe.on('error', () => {})
    probe.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    await new Promise((r) => setTimeout(r, 50))

    const ws = new WebSocket(server.wsUrl, { headers: { cookie: alice.jar.cookie! } })
    await new Promise((r) => ws.once('open', r))
    const frames: string[] = []
    ws.on('message', (m) => frames.push(m.toString()))
    const wsClosed = new Promise<number>((r) => ws.once('close', (code) => r(code)))

    // Sends in flight when shutdown starts are answered and stored. Each is a
    // request the server has read the head of (it answered "100 Continue")
    // and whose body comes only once shutdown has started.
    const body = (i: number) => JSON.stringify({ roomId, clientId: `inflight-${i}`, body: `in flight ${i}` })
    const inFlight = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const socket = net.connect(server.port, '127.0.0.1')
        let answer = ''
        socket.on('data', (d) => (answer += d.toString()))
        socket.on('error', () => {})
        socket.write(
          `POST /trpc/messages.send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
            `Cookie: ${alice.jar.cookie!}\r\nContent-Length: ${Buffer.byteLength(body(i))}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
        )
        await expect.poll(() => answer, { timeout: 10_000 }).toMatch(/^HTTP\/1.1 100 Continue/)
        const ended = new Promise<void>((r) => socket.once('close', () => r()))
        return { send: () => socket.write(body(i)), answer: () => ended.then(() => answer) }
      }),
    )
    const closing = server.app.close()
    for (const request of inFlight) request.send()
    probe.write('\r\n')
    await expect.poll(() => probeAnswer, { timeout: 10_000 }).toMatch(/^HTTP\/1.1 503/)
    expect(probeAnswer).toContain('shutting down')

    // New upgrades are refused: the listener is closed (connection refused) or, on a kept socket, 503.
    const refused = await new Promise<string>((resolve) => {
      const late = new WebSocket(server.wsUrl)
      late.once('open', () => resolve('open'))
      late.once('unexpected-response', (_q, r) => resolve(`refused ${r.statusCode}`))
      late.once('error', () => resolve('refused'))
    })
    expect(refused).toMatch(/^refused/)

    expect(frames.some((f) => f.includes('"method":"reconnect"')) || (await wsClosed) === 1001).toBe(true)
    expect(await wsClosed).toBe(1001)
    await closing
    const answers = await Promise.all(inFlight.map((request) => request.answer()))
    const acked = answers.map((a) => {
      expect(a).toMatch(/HTTP\/1.1 200 OK/)
      return /"id":"([0-9a-f]{24})"/.exec(a)![1]!
    })
    // The store is still open until stop(): every acknowledged send is there.
    const { messages: stored } = await server.database.repos.messages.list(new ObjectId(roomId), undefined, 1000)
    expect(new Set(stored.map((m) => m.id))).toEqual(new Set(acked))
    await server.stop()
  })
})
