/**
 * A WebSocket's life around its session: a socket closed while its session is
 * still being read leaves nothing behind (no per-user slot, no revocation
 * watcher), a revoked socket runs nothing more, and HTTP batches are capped
 * as WebSocket batches are.
 */
import net from 'node:net'
import { randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { readEnv } from '../src/env.ts'
import { startTestServer, type ApiClient, type TestServer } from './factory.ts'
import { call, range, twoInARoom } from './helpers.ts'

const MAX_PER_USER = 3
const HOUR = 60 * 60_000

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ WS_MAX_PER_USER: String(MAX_PER_USER) })
})
afterAll(() => server.stop())

function open(cookie: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.wsUrl, { headers: { cookie } })
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

/** Opens sockets with this cookie and cuts each as soon as it is open: before the server has read its session. */
async function openAndCut(cookie: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) (await open(cookie)).terminate()
}

/** The session id in a client's cookie (`name=<id>.<secret>`). */
function sessionIdOf(client: ApiClient): string {
  return client.jar.cookie!.split('=')[1]!.split('.')[0]!
}

describe('a socket closed before its session is known', () => {
  it('does not count against WS_MAX_PER_USER: the user still gets a full set of sockets', async () => {
    const carol = await server.signUp()
    const cookie = carol.jar.cookie!
    await openAndCut(cookie, 4 * MAX_PER_USER)
    // The server finishes reading those sockets' session after they are gone.
    await sleep(300)
    const sockets = await Promise.all(range(1, MAX_PER_USER).map(() => open(cookie)))
    const replies = await Promise.all(sockets.map((ws) => call(ws, 1, 'query', 'rooms.list')))
    expect(replies.map((r) => Array.isArray((r.result as { data?: unknown } | undefined)?.data))).toEqual(sockets.map(() => true))
    expect(sockets.every((ws) => ws.readyState === WebSocket.OPEN)).toBe(true)
    for (const ws of sockets) ws.close()
  })

  it('leaves no revocation watcher: its session is not kept sliding', async () => {
    const cut = await server.signUp()
    const kept = await server.signUp()
    const sessions = server.database.collections.sessions
    // Each session's watcher wakes an hour (the touch interval) before its idle deadline and slides it:
    // bring the deadlines to just over an hour away, the early-closed one first.
    const now = Date.now()
    const cutDeadline = new Date(now + HOUR + 2000)
    await sessions.updateOne({ _id: sessionIdOf(cut) }, { $set: { lastSeenAt: new Date(now), idleExpiresAt: cutDeadline } })
    await sessions.updateOne({ _id: sessionIdOf(kept) }, { $set: { lastSeenAt: new Date(now), idleExpiresAt: new Date(now + HOUR + 3000) } })

    await openAndCut(cut.jar.cookie!, 10)
    const steady = await open(kept.jar.cookie!)
    await call(steady, 1, 'query', 'rooms.list')

    // The open socket's session slides (so the watchers are at work)…
    await expect
      .poll(async () => (await sessions.findOne({ _id: sessionIdOf(kept) }))!.idleExpiresAt.getTime(), { timeout: 10_000, interval: 200 })
      .toBeGreaterThan(now + 24 * HOUR)
    // …the one whose sockets all closed early, due a second before it, does not.
    expect((await sessions.findOne({ _id: sessionIdOf(cut) }))!.idleExpiresAt).toEqual(cutDeadline)
    steady.close()
  })
})

/**
 * A WebSocket client written by hand on a TCP socket, so that it can ignore
 * the server's close frame and keep sending, as a hostile client would.
 */
async function stubbornSocket(port: number, cookie: string) {
  const sock = net.connect(port, '127.0.0.1')
  const texts: string[] = []
  let closeCode: number | null = null
  let buf = Buffer.alloc(0)
  let upgraded = false
  const ended = new Promise<void>((resolve) => sock.once('close', () => resolve()))
  sock.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => {
      const key = randomBytes(16).toString('base64')
      sock.write(
        `GET /trpc HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nCookie: ${cookie}\r\n\r\n`,
      )
    })
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        if (!buf.subarray(0, end).toString().startsWith('HTTP/1.1 101')) return reject(new Error(buf.toString()))
        upgraded = true
        buf = buf.subarray(end + 4)
        resolve()
      }
      // Server frames: unmasked, unfragmented.
      while (buf.length >= 2) {
        let len = buf[1]! & 0x7f
        let at = 2
        if (len === 126) [len, at] = [buf.readUInt16BE(2), 4]
        else if (len === 127) [len, at] = [Number(buf.readBigUInt64BE(2)), 10]
        if (buf.length < at + len) return
        const opcode = buf[0]! & 0x0f
        const payload = buf.subarray(at, at + len)
        if (opcode === 1) texts.push(payload.toString())
        if (opcode === 8) closeCode = payload.readUInt16BE(0)
        buf = buf.subarray(at + len)
      }
    })
  })
  return {
    texts,
    ended,
    closeCode: () => closeCode,
    send(text: string) {
      const payload = Buffer.from(text)
      const mask = randomBytes(4)
      const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff])
      sock.write(Buffer.concat([head, mask, payload.map((b, i) => b ^ mask[i % 4]!)]))
    },
    destroy: () => sock.destroy(),
  }
}

describe('a revoked socket', () => {
  it('runs nothing it sends after the 4001 close, and is cut soon after', async () => {
    const { alice, bob, roomId } = await twoInARoom(server, 'revoked')
    const raw = await stubbornSocket(server.port, alice.jar.cookie!)
    const sendFrame = (id: number, body: string) =>
      raw.send(JSON.stringify({ id, method: 'mutation', params: { path: 'messages.send', input: { roomId, clientId: randomUUID(), body } } }))
    const replied = (id: number) => raw.texts.some((t) => (JSON.parse(t) as { id?: unknown }).id === id)
    sendFrame(1, 'before revocation')
    await expect.poll(() => replied(1), { timeout: 5000 }).toBe(true)

    // Alice, elsewhere, signs out everywhere.
    const elsewhere = server.client()
    await elsewhere.trpc.auth.login.mutate({ username: alice.user.username, password: 'correct horse battery' })
    await elsewhere.trpc.auth.logoutAll.mutate()
    await expect.poll(() => raw.closeCode(), { timeout: 5000 }).toBe(4001)

    // The client ignores the close frame and carries on.
    sendFrame(2, 'after revocation')
    const cut = await Promise.race([raw.ended.then(() => true), sleep(4000).then(() => false)])
    const bodies = (await bob.trpc.messages.list.query({ roomId, limit: 100 })).messages.map((m) => m.body)
    expect(bodies).toContain('before revocation')
    expect(bodies).not.toContain('after revocation')
    expect(replied(2)).toBe(false)
    // Cut within the grace (ws alone would wait 30 s for the peer's close frame).
    expect(cut).toBe(true)
    raw.destroy()
  })

  it('still shows a well-behaved client the 4001 close', async () => {
    const dave = await server.signUp()
    const ws = await open(dave.jar.cookie!)
    await call(ws, 1, 'query', 'rooms.list')
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
    await dave.trpc.auth.logoutAll.mutate()
    expect(await closed).toBe(4001)
  })
})

describe('HTTP batches', () => {
  const max = readEnv({}).HTTP_MAX_BATCH

  function postBatch(client: ApiClient, roomId: string, size: number, tag: string) {
    const paths = Array.from({ length: size }, () => 'messages.send').join(',')
    const inputs = Object.fromEntries(range(0, size - 1).map((i) => [i, { roomId, clientId: `${tag}-${i}`, body: tag }]))
    return fetch(`${server.url}/trpc/${paths}?batch=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: client.jar.cookie! },
      body: JSON.stringify(inputs),
    })
  }

  it(`a batch over HTTP_MAX_BATCH (default ${max}) is answered 400 and none of it runs; one at the limit runs`, async () => {
    const { alice, roomId } = await twoInARoom(server, 'batches')
    const over = await postBatch(alice, roomId, max + 1, 'over')
    expect(over.status).toBe(400)
    expect(JSON.stringify(await over.json())).toMatch(/Batch call exceeds maximum size/)

    const atLimit = await postBatch(alice, roomId, max, 'at')
    expect(atLimit.status).toBe(200)
    const results = (await atLimit.json()) as { result?: unknown }[]
    expect(results.filter((r) => r.result)).toHaveLength(max)

    const bodies = (await alice.trpc.messages.list.query({ roomId, limit: 100 })).messages.map((m) => m.body)
    expect(bodies.filter((b) => b === 'over')).toHaveLength(0)
    expect(bodies.filter((b) => b === 'at')).toHaveLength(max)
  })

  it('the tRPC client gets the refusal as an error on each call', async () => {
    const { alice, roomId } = await twoInARoom(server, 'client batches')
    const calls = range(1, max + 1).map((i) => alice.trpc.messages.send.mutate({ roomId, clientId: `c-${i}`, body: 'one tick' }))
    const settled = await Promise.allSettled(calls)
    expect(settled.every((s) => s.status === 'rejected' && /Batch call exceeds maximum size/.test(String(s.reason)))).toBe(true)
  })
})
