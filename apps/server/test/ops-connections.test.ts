/**
 * A node holds at most MAX_CONNECTIONS client connections, below its
 * open-file limit, so that a crowd cannot take the descriptors it needs for
 * MongoDB and Redis. Past the cap a new connection is closed at once and
 * counted, and the log warns of it (once, not per connection); the people
 * already connected keep chatting, and once connections close, new ones are
 * accepted again. A node with no slot left says so on /readyz, so a load
 * balancer sends newcomers elsewhere.
 */
import net from 'node:net'
import { randomUUID } from 'node:crypto'
import { createTRPCClient, wsLink } from '@trpc/client'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { AppRouter } from '@parley/api'
import {
  defaultMaxConnections,
  openFileLimit,
  parseOpenFileLimit,
  RESERVED_FILES,
  somaxconn,
} from '../src/connection-limits.ts'
import { startTestServer, type ApiClient, type TestServer } from './factory.ts'
import { logSink, metricValue, rawRequest, scrapeMetric, twoInARoom, watchRoom } from './helpers.ts'

const CAP = 8

let server: TestServer
let alice: ApiClient
let bob: ApiClient
let roomId: string
/** The node's warnings. */
const warnings = logSink()

beforeAll(async () => {
  server = await startTestServer({ MAX_CONNECTIONS: String(CAP) }, { log: pino({ level: 'warn' }, warnings.stream) })
  ;({ alice, bob, roomId } = await twoInARoom(server, 'full house'))
})
afterAll(() => server.stop())

/** A GET on a connection of its own, closed after the answer (a pooled one would hold a slot afterwards). */
const getAlone = (path: string) => rawRequest(`${server.url}${path}`, { Connection: 'close' })

async function readyz(): Promise<{ status: number; body: { ok: boolean; down: Record<string, string> } }> {
  const { status, body } = await getAlone('/readyz')
  return { status, body: JSON.parse(body.toString()) }
}

/** Requests the node closed unanswered while the test waited for a slot: each is one more refusal it counts. */
let turnedAway = 0
/** `request`'s answer, retried while the node turns it away: it has no slot until it has seen a client's close. */
const whenAdmitted = <T>(request: () => Promise<T>): Promise<T> =>
  vi.waitFor(
    () =>
      request().catch((err: unknown) => {
        turnedAway++
        throw err
      }),
    { timeout: 5_000 },
  )

/** Opens a TCP connection and reports whether the node closed it within `ms` without answering. */
function openAndWatch(ms: number): Promise<{ socket: net.Socket; dropped: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1')
    socket.on('error', () => {})
    let answered = false
    socket.on('data', () => (answered = true))
    const timer = setTimeout(() => resolve({ socket, dropped: false }), ms)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve({ socket, dropped: !answered })
    })
  })
}

describe('MAX_CONNECTIONS', () => {
  it('past the cap new connections are closed, counted and logged once; connected people keep chatting; /readyz says full; freed slots are taken again', async () => {
    expect(await readyz()).toEqual({ status: 200, body: expect.objectContaining({ ok: true, down: {} }) })

    // Alice sends over a WebSocket kept open (not lazy, so it does not close while idle) and Bob follows
    // the room over his: both are open before the node fills.
    const aliceSocket = server.client({ jar: alice.jar, lazy: false })
    const aliceWs = createTRPCClient<AppRouter>({ links: [wsLink({ client: aliceSocket.ws })] })
    await aliceWs.rooms.list.query()
    const watch = watchRoom(bob, roomId)
    await watch.started

    const fillers: { socket: net.Socket; dropped: boolean }[] = []
    for (let i = 0; i < CAP + 4; i++) fillers.push(await openAndWatch(500))
    const kept = fillers.filter((f) => !f.dropped)
    const dropped = fillers.length - kept.length
    // Alice's and Bob's WebSockets hold two of the CAP slots.
    expect(kept.length).toBeLessThanOrEqual(CAP - 2)
    expect(dropped).toBeGreaterThanOrEqual(4)

    // One slot free: a scrape or a probe takes it. The scrape shows how full the node is, the probe that the next client would be turned away.
    kept.pop()!.socket.destroy()
    const metrics = (await whenAdmitted(() => getAlone('/metrics'))).body.toString()
    expect(metricValue(metrics, 'parley_client_connections')).toBe(CAP)
    expect(metricValue(metrics, 'parley_max_connections')).toBe(CAP)
    expect(await whenAdmitted(readyz)).toEqual({ status: 503, body: expect.objectContaining({ ok: false, down: { connections: `full: ${CAP} of MAX_CONNECTIONS (${CAP})` } }) })

    const body = `while full ${randomUUID()}`
    await aliceWs.messages.send.mutate({ roomId, body, clientId: randomUUID() })
    await watch.until((items) =>
      items.some((e) => e.type === 'message.created' && e.message.body === body),
    )
    watch.stop()

    for (const f of kept) f.socket.destroy()
    // Full (503) or refused until the node has seen those closes.
    await expect.poll(() => whenAdmitted(readyz), { timeout: 5_000 }).toEqual({ status: 200, body: expect.objectContaining({ ok: true, down: {} }) })
    expect(await scrapeMetric(server.url, 'parley_limit_hits_total', { limit: 'connections' })).toBe(dropped + turnedAway)
    // The operator hears of it once, not once per refused connection (a crowd at the door would flood the log).
    expect(warnings.lines.filter((w) => String(w.msg).startsWith('connection refused'))).toEqual([
      expect.objectContaining({ maxConnections: CAP }),
    ])
    // A newcomer gets in once there is room again.
    const carol = await server.signUp()
    await carol.trpc.rooms.join.mutate({ roomId })
    expect((await carol.trpc.rooms.members.query({ roomId })).length).toBe(3)
  })
})

describe('the default cap', () => {
  it('is the open-file limit less a reserve for MongoDB and Redis, and no cap when the limit is unknown', () => {
    const limits =
      'Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                20000                files\n'
    expect(parseOpenFileLimit(limits)).toBe(20_000)
    expect(
      parseOpenFileLimit(limits.replace(/20000 {16}20000/, 'unlimited            unlimited')),
    ).toBeNull()
    expect(parseOpenFileLimit('')).toBeNull()
    expect(defaultMaxConnections(20_000)).toBe(20_000 - RESERVED_FILES)
    expect(defaultMaxConnections(1024)).toBe(512)
    expect(defaultMaxConnections(null)).toBe(0)
  })

  it.runIf(process.platform === 'linux')('reads this process’s limit on Linux', () => {
    expect(openFileLimit()).toBeGreaterThan(0)
  })
})

describe.runIf(process.platform === 'linux')('LISTEN_BACKLOG above net.core.somaxconn', () => {
  const capped = (lines: Record<string, unknown>[]) => lines.filter((w) => String(w.msg).startsWith('accept queue capped by net.core.somaxconn'))

  it('is silently cut by the kernel, so the node warns at start-up, naming both numbers', async () => {
    const cap = somaxconn()!
    const startup = logSink()
    const node = await startTestServer({ LISTEN_BACKLOG: String(cap + 1) }, { log: pino({ level: 'warn' }, startup.stream) })
    await node.stop()
    expect(capped(startup.lines)).toEqual([expect.objectContaining({ listenBacklog: cap + 1, somaxconn: cap })])
    // The default (4096) warns only where the kernel allows less.
    expect(capped(warnings.lines)).toHaveLength(cap < 4096 ? 1 : 0)
    // Nor do the defaults of STREAM_MAX_QUEUED and RESUME_MAX_EVENTS (4096 and 500) warn.
    expect(warnings.lines.filter((w) => String(w.msg).startsWith('STREAM_MAX_QUEUED'))).toEqual([])
  })
})
