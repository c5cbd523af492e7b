/**
 * Abuse limits on a real node, with raw `ws` clients playing the attacker and
 * a normal tRPC client on the same node that must keep chatting afterwards.
 */
import net from 'node:net'
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createWsGuard } from '../src/ws-guard.ts'
import { startTestServer, type ApiClient, type TestServer } from './factory.ts'
import { call, metricValue, scrapeMetric, send, twoInARoom, watchRoom } from './helpers.ts'

let server: TestServer
let alice: ApiClient
let bob: ApiClient
let roomId: string

beforeAll(async () => {
  server = await startTestServer({
    WS_MAX_PAYLOAD_BYTES: '65536',
    WS_RATE_LIMIT: '100',
    WS_RATE_WINDOW_MS: '10000',
    WS_MAX_BATCH: '20',
    WS_MAX_SUBSCRIPTIONS: '100',
    WS_MAX_PER_IP: '12',
    WS_MAX_PER_USER: '3',
    WS_HANDSHAKE_TIMEOUT_MS: '500',
    HTTP_HEADERS_TIMEOUT_MS: '1000',
    HTTP_REQUEST_TIMEOUT_MS: '2000',
    HTTP_MAX_BODY_BYTES: '4096',
  })
  ;({ alice, bob, roomId } = await twoInARoom(server, 'limits'))
})
afterAll(() => server.stop())

/** The normal client: Bob watches the room over his WebSocket, Alice sends, Bob sees it. */
async function normalClientKeepsChatting(): Promise<void> {
  const watch = watchRoom(bob, roomId)
  await watch.started
  const body = `still here ${randomUUID()}`
  await send(alice, roomId, body)
  await watch.until((items) => items.some((e) => e.type === 'message.created' && e.message.body === body))
  watch.stop()
}

function cookieOf(c: ApiClient): string {
  return c.jar.cookie!
}

function open(headers: Record<string, string> = {}, query = ''): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(server.wsUrl + query, { headers })
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)))
  })
}

function closed(ws: WebSocket, timeoutMs = 5000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket still open')), timeoutMs)
    ws.once('close', (code, reason) => {
      clearTimeout(timer)
      resolve({ code, reason: reason.toString() })
    })
  })
}

describe('WebSocket limits', () => {
  it('an oversized frame closes that socket with 1009; others carry on', async () => {
    const ws = await open({ cookie: cookieOf(alice) })
    const done = closed(ws)
    ws.send('x'.repeat(65_537))
    expect((await done).code).toBe(1009)
    await normalClientKeepsChatting()
  })

  it('a flood of frames closes that socket with 1008; others carry on', async () => {
    const ws = await open({ cookie: cookieOf(alice) })
    const done = closed(ws)
    const replies: string[] = []
    ws.on('message', (m) => replies.push(m.toString()))
    for (let i = 1; i <= 1000 && ws.readyState === WebSocket.OPEN; i++) {
      ws.send(JSON.stringify({ id: i, method: 'query', params: { path: 'system.info' } }))
    }
    const { code, reason } = await done
    expect(code).toBe(1008)
    expect(reason).toMatch(/too many requests/)
    // Nothing past the limit was executed.
    expect(replies.length).toBeLessThanOrEqual(100)
    await normalClientKeepsChatting()
  })

  it('a batch frame with too many requests closes with 1008 and runs none of them', async () => {
    const ws = await open({ cookie: cookieOf(alice) })
    const done = closed(ws)
    const before = await alice.trpc.messages.list.query({ roomId })
    const batch = Array.from({ length: 21 }, (_, i) => ({
      id: i + 1,
      method: 'mutation',
      params: { path: 'messages.send', input: { roomId, clientId: `batch-${i}`, body: 'from a batch' } },
    }))
    ws.send(JSON.stringify(batch))
    const { code, reason } = await done
    expect(code).toBe(1008)
    expect(reason).toMatch(/batch/)
    const after = await alice.trpc.messages.list.query({ roomId })
    expect(after.messages.filter((m) => m.body === 'from a batch')).toHaveLength(0)
    expect(after.messages.length).toBe(before.messages.length)
    await normalClientKeepsChatting()
  })

  it('per-IP: past WS_MAX_PER_IP open sockets the upgrade is refused with 429; closing one frees a slot', async () => {
    const held: WebSocket[] = []
    // Other tests' clients may hold a socket or two: open until refused.
    let refusal: Error | null = null
    for (let i = 0; i < 20 && !refusal; i++) {
      try {
        held.push(await open())
      } catch (err) {
        refusal = err as Error
      }
    }
    expect(refusal?.message).toBe('refused 429')
    expect(held.length).toBeLessThanOrEqual(12)
    const last = held.pop()!
    last.close()
    await closed(last)
    const again = await open()
    again.close()
    for (const ws of held) ws.close()
    await Promise.all(held.map((ws) => (ws.readyState === WebSocket.CLOSED ? null : closed(ws))))
    await normalClientKeepsChatting()
  })

  it('per-user: past WS_MAX_PER_USER sockets of one user, the next is closed with 1008', async () => {
    const carol = await server.signUp()
    const sockets = await Promise.all([1, 2, 3].map(() => open({ cookie: cookieOf(carol) })))
    // A socket's user is known once its context is built, and a call is answered only after that:
    // with a reply on each, all three hold their slot before the fourth asks for one.
    await Promise.all(sockets.map((ws) => call(ws, 1, 'query', 'system.info')))
    const fourth = await open({ cookie: cookieOf(carol) })
    const { code, reason } = await closed(fourth)
    expect(code).toBe(1008)
    expect(reason).toMatch(/too many connections/)
    expect(sockets.every((ws) => ws.readyState === WebSocket.OPEN)).toBe(true)
    for (const ws of sockets) ws.close()
    await Promise.all(sockets.map((ws) => closed(ws)))
    await normalClientKeepsChatting()
  })

  it('a socket that announces connectionParams and never sends them is closed with 1008', async () => {
    const ws = await open({}, '?connectionParams=1')
    const { code, reason } = await closed(ws)
    expect(code).toBe(1008)
    expect(reason).toMatch(/connection params/)
  })
})

describe('subscriptions per connection', () => {
  let roomy: TestServer
  beforeAll(async () => {
    roomy = await startTestServer({ WS_MAX_SUBSCRIPTIONS: '100', WS_MAX_BATCH: '50', WS_RATE_LIMIT: '1000' })
  })
  afterAll(() => roomy.stop())

  it('200 subscriptions on one socket: 100 run, the other 100 get TOO_MANY_REQUESTS, the socket stays usable', async () => {
    const a = await roomy.signUp()
    const b = await roomy.signUp()
    const room = (await a.trpc.rooms.create.mutate({ name: 'subs', visibility: 'public' })).id
    await b.trpc.rooms.join.mutate({ roomId: room })
    const ws = new WebSocket(roomy.wsUrl, { headers: { cookie: a.jar.cookie! } })
    await new Promise((r) => ws.once('open', r))
    const started = new Set<number>()
    const refused = new Map<number, string>()
    const stopped = new Set<number>()
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as { id: number; result?: { type: string }; error?: { data?: { code?: string } } }
      if (msg.result?.type === 'started') started.add(msg.id)
      if (msg.result?.type === 'stopped') stopped.add(msg.id)
      if (msg.error) refused.set(msg.id, msg.error.data?.code ?? '?')
    })
    for (let frame = 0; frame < 4; frame++) {
      ws.send(JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ id: frame * 50 + i + 1, method: 'subscription', params: { path: 'events.room', input: { roomId: room } } }))))
    }
    await expect.poll(() => started.size + refused.size, { timeout: 10_000 }).toBe(200)
    expect(started.size).toBe(100)
    expect(refused.size).toBe(100)
    expect(new Set(refused.values())).toEqual(new Set(['TOO_MANY_REQUESTS']))
    expect(ws.readyState).toBe(WebSocket.OPEN)

    // Stopping one frees a slot for a new one.
    const first = [...started][0]!
    ws.send(JSON.stringify({ id: first, method: 'subscription.stop' }))
    await expect.poll(() => stopped.has(first), { timeout: 10_000 }).toBe(true)
    ws.send(JSON.stringify({ id: 1000, method: 'subscription', params: { path: 'events.room', input: { roomId: room } } }))
    await expect.poll(() => started.has(1000), { timeout: 10_000 }).toBe(true)

    // The metric counts live subscriptions and refusals.
    const metrics = await (await fetch(`${roomy.url}/metrics`)).text()
    expect(metricValue(metrics, 'parley_subscriptions', { procedure: 'events.room' })).toBe(100)
    expect(metricValue(metrics, 'parley_limit_hits_total', { limit: 'ws_subscriptions' })).toBe(100)

    // Another user on the same node keeps chatting.
    const watch = watchRoom(b, room)
    await watch.started
    await send(a, room, 'hello after the pile-up')
    await watch.until((items) => items.some((e) => e.type === 'message.created' && e.message.body === 'hello after the pile-up'))
    watch.stop()

    ws.close()
    await new Promise((r) => ws.once('close', r))
    await expect.poll(() => scrapeMetric(roomy.url, 'parley_subscriptions', { procedure: 'events.room' }), { timeout: 10_000 }).toBe(0)
  })
})

describe('slowloris and half-open handshakes', () => {
  // Both are bounded by the test's own timeout (30 s), which is under Node's defaults (60 s for headers,
  // 300 s for a request, none for an idle socket): a pass means the node's configured timeouts fired.
  it('a raw TCP client that trickles half an upgrade request, never finishing it, is dropped; others carry on', async () => {
    const port = server.port
    const sock = net.connect(port, '127.0.0.1')
    await new Promise((r) => sock.once('connect', r))
    sock.write('GET /trpc HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n')
    // …and then trickle a header byte every 200 ms, never finishing.
    const trickle = setInterval(() => sock.writable && sock.write('X'), 200)
    let received = ''
    sock.on('data', (d) => (received += d.toString()))
    sock.on('error', () => {})
    await new Promise((r) => sock.once('close', r))
    clearInterval(trickle)
    expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true)
    await normalClientKeepsChatting()
  })

  it('a raw TCP client that connects and sends nothing is dropped too', async () => {
    const sock = net.connect(server.port, '127.0.0.1')
    sock.on('error', () => {})
    await new Promise((r) => sock.once('close', r))
  })
})

describe('HTTP limits', () => {
  it('a body over HTTP_MAX_BODY_BYTES is answered 413 and writes nothing', async () => {
    const res = await fetch(`${server.url}/trpc/messages.send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: cookieOf(alice) },
      body: JSON.stringify({ roomId, clientId: 'big', body: 'y'.repeat(5000) }),
    })
    expect(res.status).toBe(413)
    const list = await alice.trpc.messages.list.query({ roomId })
    expect(list.messages.some((m) => m.clientId === 'big')).toBe(false)
    await normalClientKeepsChatting()
  })
})

describe('slow consumers', () => {
  it('a socket whose send buffer stays above the limit is terminated; one that drains is not', () => {
    const guard = createWsGuard({
      maxPerIp: 10, maxPerUser: 10, ratePerWindow: 100, rateWindowMs: 1000, maxBatch: 10,
      maxBufferedBytes: 1024, slowConsumerMs: 3000, handshakeTimeoutMs: 1000,
    })
    const fake = (buffered: number) => {
      const sock = { bufferedAmount: buffered, terminated: false, handlers: {} as Record<string, () => void>,
        terminate() { this.terminated = true },
        close() {},
        once(event: string, fn: () => void) { this.handlers[event] = fn },
        emit() { return true },
      }
      return sock
    }
    const slow = fake(10_000)
    const draining = fake(10_000)
    guard.attach(slow as never, '1.1.1.1', '/trpc')
    guard.attach(draining as never, '1.1.1.2', '/trpc')
    guard.sweep(0)
    guard.sweep(1000)
    draining.bufferedAmount = 10 // it caught up
    guard.sweep(2000)
    draining.bufferedAmount = 10_000
    guard.sweep(2500)
    expect(slow.terminated).toBe(false)
    guard.sweep(3000)
    expect(slow.terminated).toBe(true)
    expect(draining.terminated).toBe(false)
  })
})
