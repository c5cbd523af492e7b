import { spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { readEnv } from '../src/env.ts'
import { defaultMaxConnections, openFileLimit, somaxconn } from '../src/connection-limits.ts'
import { startTestServer, type TestServer } from './factory.ts'
import { send, watchRoom } from './helpers.ts'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.stop())

describe('one port, both transports', () => {
  it('answers a query over HTTP with the real tRPC client', async () => {
    const info = await server.client().trpc.system.info.query()
    expect(info).toMatchObject({ name: 'parley', nodeId: expect.any(String) })
    expect(Date.parse(info.time)).not.toBeNaN()
  })

  it('streams a subscription over WebSocket', async () => {
    const alice = await server.signUp()
    const room = await alice.trpc.rooms.create.mutate({ name: 'transport', visibility: 'private' })
    const events = watchRoom(alice, room.id)
    await events.started
    const sent = await send(alice, room.id, 'over the socket')
    await events.until((e) => e.some((x) => x.type === 'message.created' && x.message.id === sent.id))
    events.stop()
  })

  it('gives a client without a session no stream: nothing anonymous can make the node send on a timer', async () => {
    const anonymous = await import('ws').then(({ WebSocket }) => new WebSocket(server.wsUrl))
    const frames: unknown[] = []
    anonymous.on('message', (d) => frames.push(JSON.parse(String(d))))
    await new Promise((resolve) => anonymous.once('open', resolve))
    anonymous.send(JSON.stringify({ id: 1, method: 'subscription', params: { path: 'system.clock', input: { intervalMs: 100 } } }))
    anonymous.send(JSON.stringify({ id: 2, method: 'subscription', params: { path: 'events.user' } }))
    await vi.waitFor(() => expect(frames).toHaveLength(2))
    expect(frames.sort((a, b) => (a as { id: number }).id - (b as { id: number }).id)).toEqual([
      expect.objectContaining({ id: 1, error: expect.objectContaining({ data: expect.objectContaining({ code: 'NOT_FOUND' }) }) }),
      expect.objectContaining({ id: 2, error: expect.objectContaining({ data: expect.objectContaining({ code: 'UNAUTHORIZED' }) }) }),
    ])
    anonymous.close()
  })

  it('reports health and readiness', async () => {
    const health = await fetch(`${server.url}/healthz`)
    expect(health.status).toBe(200)
    const ready = await fetch(`${server.url}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ ok: true, down: {} })
  })

  it('puts security headers on every response', async () => {
    for (const path of ['/healthz', '/trpc/system.info', '/nope']) {
      const res = await fetch(server.url + path)
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('referrer-policy')).toBeTruthy()
    }
  })

  it('refuses cross-site form posts and foreign-origin WebSockets', async () => {
    const form = new FormData()
    form.set('x', '1')
    const res = await fetch(`${server.url}/trpc/auth.logout`, { method: 'POST', body: form, headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } })
    expect(res.status).toBe(403)
    const { WebSocket } = await import('ws')
    const ws = new WebSocket(server.wsUrl, { headers: { origin: 'https://evil.example' } })
    const outcome = await new Promise<string>((resolve) => {
      ws.on('open', () => resolve('open'))
      ws.on('error', () => resolve('refused'))
      ws.on('unexpected-response', (_req, r) => resolve(`refused ${r.statusCode}`))
    })
    expect(outcome).toMatch(/^refused/)
  })
})

describe('configuration', () => {
  it('queues a crowd of connection attempts (LISTEN_BACKLOG, 4096 by default) instead of dropping them for the TCP stack to retry seconds later', () => {
    // The kernel reports a listening socket's accept-queue size as its Send-Q.
    const acceptQueue = (url: string) => {
      const out = spawnSync('ss', ['-ltnH', `sport = :${new URL(url).port}`], { encoding: 'utf8' })
      if (out.error) throw out.error
      return Number(out.stdout.trim().split(/\s+/)[2])
    }
    expect(acceptQueue(server.url)).toBe(Math.min(4096, somaxconn()!))
  })

  it.runIf(process.platform === 'linux')('holds at most its open-file limit less a reserve (MAX_CONNECTIONS unset), so MongoDB and Redis keep descriptors', () => {
    expect(server.app.server.maxConnections).toBe(defaultMaxConnections(openFileLimit()))
  })

  it('names the variable when a value is invalid', () => {
    expect(() => readEnv({ PORT: 'abc' })).toThrow(/PORT/)
    expect(() => readEnv({ MONGODB_URL: 'postgres://x' })).toThrow(/MONGODB_URL/)
    // A mistyped connection string is named, its credentials are not.
    expect(() => readEnv({ MONGODB_URL: 'mongodb:/admin:hunter2@db:27017' })).toThrow(/MONGODB_URL="mongodb:\/\*\*\*@db:27017"/)
    // A window of a minute would hold every busy lookup that long: refused, not taken.
    expect(() => readEnv({ LOOKUP_BATCH_WINDOW_MS: '60000' })).toThrow(/LOOKUP_BATCH_WINDOW_MS/)
    expect(() => readEnv({ MAX_CONNECTIONS: '-1' })).toThrow(/MAX_CONNECTIONS/)
    // Past 2^31 − 1 ms Node fires a timer after 1 ms: a "never" would act at once.
    expect(() => readEnv({ SHUTDOWN_TIMEOUT_MS: '3000000000' })).toThrow(/SHUTDOWN_TIMEOUT_MS/)
    expect(() => readEnv({ DEV_ORIGIN: 'localhost:5173' })).toThrow(/DEV_ORIGIN/)
    // Presence pushed forward every heartbeat would lapse between two.
    expect(() => readEnv({ BUS_HEARTBEAT_MS: '5000', PRESENCE_TTL_MS: '8000' })).toThrow(/PRESENCE_TTL_MS="8000": must be more than twice BUS_HEARTBEAT_MS/)
    expect(readEnv({}).PORT).toBe(3000)
    // Blank is unset (not 0, which would be a random port); surrounding spaces are not part of a value.
    expect(readEnv({ PORT: '  ', SEND_RATE_LIMIT: ' 12 ' })).toMatchObject({ PORT: 3000, SEND_RATE_LIMIT: 12 })
  })

  it('exits non-zero with one line naming PORT when started with PORT=abc', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: new URL('..', import.meta.url), env: { ...process.env, PORT: 'abc' }, encoding: 'utf8', timeout: 20_000 })
    expect(r.status).not.toBe(0)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/PORT/)
  })
})
