/** Redis going away and coming back: outage, restart, half-open subscriber. */
import { startRedis } from '@parley/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createBus, createRedisBus, type Bus } from '../src/index.ts'
import { freezableProxy, recordingLogger, sleep } from './helpers.ts'
import { FAST } from './redis-fixture.ts'

const cleanup: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

async function ready(bus: Bus): Promise<Bus> {
  cleanup.push(() => bus.close())
  await vi.waitFor(() => expect(bus.health()).toEqual({ ok: true }), { timeout: 5_000 })
  return bus
}

describe('redis bus: outages', () => {
  it('survives redis-server being killed and restarted on the same port', async () => {
    const server = await startRedis()
    cleanup.push(() => server.stop())
    const logger = recordingLogger()
    const a = await ready(createRedisBus({ url: server.url, nodeId: 'A', logger, ...FAST }))
    const b = await ready(createBus({ redisUrl: server.url, nodeId: 'B' }))
    const atA: unknown[] = []
    await a.subscribe('room:o', (p) => atA.push(p))
    let resyncs = 0
    a.onResync(() => resyncs++)

    await server.kill()
    // Both connections notice on their own: wait for the publisher (the subscriber may go first,
    // and a publish while the publisher still looks ready fails later, asynchronously).
    await vi.waitFor(() => expect(a.health().detail).toMatch(/^redis: publisher /))

    // Publishing during the outage: no throw, counted, logged once, and
    // still delivered to this node's own subscribers.
    for (let i = 0; i < 5; i++) expect(() => a.publish('room:o', `down-${i}`)).not.toThrow()
    expect(a.stats().publishErrors).toBe(5)
    expect(atA).toEqual(['down-0', 'down-1', 'down-2', 'down-3', 'down-4'])
    expect(logger.count('warn', 'redis unavailable')).toBe(1)
    // Brute-force protection falls back to this node's memory instead of failing open.
    expect((await a.rateLimiter.hit('login:x', 2, 10_000)).ok).toBe(true)
    expect((await a.rateLimiter.hit('login:x', 2, 10_000)).ok).toBe(true)
    expect((await a.rateLimiter.hit('login:x', 2, 10_000)).ok).toBe(false)
    // Presence answers from local knowledge meanwhile.
    await a.presence.connect('eve')
    expect(await a.presence.online(['eve', 'fay'])).toEqual(new Set(['eve']))

    const resyncsBefore = resyncs
    await server.start()
    await vi.waitFor(() => expect(a.health()).toEqual({ ok: true }), { timeout: 5_000 })
    await vi.waitFor(() => expect(b.health()).toEqual({ ok: true }), { timeout: 5_000 })
    expect(resyncs).toBeGreaterThan(resyncsBefore)
    expect(logger.count('info', 'available again')).toBe(1)
    expect(logger.count('warn', 'redis unavailable')).toBe(1)

    b.publish('room:o', 'back')
    await vi.waitFor(() => expect(atA).toContain('back'))
    // The connection made while Redis was down reached Redis with the next refresh.
    await vi.waitFor(async () => expect(await b.presence.online(['eve'])).toEqual(new Set(['eve'])))
  })

  it('reconnects a subscriber that silently stopped receiving (own heartbeat missed)', async () => {
    const server = await startRedis()
    cleanup.push(() => server.stop())
    const proxy = await freezableProxy(server.port)
    cleanup.push(() => proxy.close())
    const logger = recordingLogger()
    // A talks to Redis through the proxy, B directly.
    const a = await ready(createRedisBus({ url: proxy.url, nodeId: 'A', logger, ...FAST }))
    const b = await ready(createRedisBus({ url: server.url, nodeId: 'B', ...FAST }))
    const atA: unknown[] = []
    await a.subscribe('room:h', (p) => atA.push(p))
    let resyncs = 0
    a.onResync(() => resyncs++)

    // Half-open: the socket stays up for both ends, nothing gets through.
    expect(proxy.freeze('bus-sub:A')).toBe(1)
    b.publish('room:h', 'lost')
    await sleep(50)
    expect(a.health().ok).toBe(true) // nothing noticeable yet

    await vi.waitFor(() => expect(resyncs).toBeGreaterThanOrEqual(1), { timeout: 5_000 })
    expect(logger.count('warn', 'heartbeat not heard')).toBe(1)
    expect(a.health()).toEqual({ ok: true })
    b.publish('room:h', 'after')
    await vi.waitFor(() => expect(atA).toEqual(['after']))
  })
})
