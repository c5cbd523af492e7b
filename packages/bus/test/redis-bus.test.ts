import net from 'node:net'
import { describe, expect, it, vi } from 'vitest'
import type { PresenceChange } from '../src/index.ts'
import { describeBusContract } from './contract.ts'
import { sleep } from './helpers.ts'
import { useRedis } from './redis-fixture.ts'

const redis = useRedis()

describeBusContract('redis bus', {
  create: () => redis.node('solo'),
  serverChannels: () => redis.admin().pubsub('CHANNELS') as Promise<string[]>,
})

describe('redis bus: two nodes on one Redis', () => {
  it('delivers across nodes exactly once, ignoring the publisher’s own echo', async () => {
    const a = await redis.node('A')
    const b = await redis.node('B')
    const atA: unknown[] = []
    const atB: unknown[] = []
    await a.subscribe('room:1', (p) => atA.push(p))
    await b.subscribe('room:1', (p) => atB.push(p))

    a.publish('room:1', { from: 'A' })
    b.publish('room:1', { from: 'B' })
    await vi.waitFor(() => {
      expect(atA).toHaveLength(2)
      expect(atB).toHaveLength(2)
    })
    await sleep(150) // an echo would arrive by now
    // Own messages are delivered at publish time, so each node sees its own first.
    expect(atA).toEqual([{ from: 'A' }, { from: 'B' }])
    expect(atB).toEqual([{ from: 'B' }, { from: 'A' }])
    expect(a.stats()).toMatchObject({ published: 1, received: 2, publishErrors: 0 })
  })

  it('does not send a node messages for channels it has no handler for', async () => {
    const a = await redis.node('A')
    const b = await redis.node('B')
    const got: unknown[] = []
    const off = await b.subscribe('room:2', (p) => got.push(p))
    a.publish('room:2', 'first')
    await vi.waitFor(() => expect(got).toEqual(['first']))
    off()
    await vi.waitFor(async () => expect(await redis.admin().pubsub('NUMSUB', 'room:2')).toEqual(['room:2', 0]))
    a.publish('room:2', 'second')
    await sleep(150)
    expect(got).toEqual(['first'])
  })

  it('shares presence across nodes and announces transitions to both', async () => {
    const a = await redis.node('A')
    const b = await redis.node('B')
    const seenByB: PresenceChange[] = []
    b.presence.onChange((c) => seenByB.push(c))

    const releaseOnA = await a.presence.connect('ann')
    expect(await b.presence.online(['ann', 'bob'])).toEqual(new Set(['ann']))
    await vi.waitFor(() => expect(seenByB).toEqual([{ userId: 'ann', status: 'online' }]))

    // A second connection on the other node is no transition.
    const releaseOnB = await b.presence.connect('ann')
    await releaseOnA()
    expect(await a.presence.online(['ann'])).toEqual(new Set(['ann']))
    await releaseOnB()
    expect(await a.presence.online(['ann'])).toEqual(new Set())
    await vi.waitFor(() => expect(seenByB).toHaveLength(2))
    await sleep(150)
    expect(seenByB).toEqual([
      { userId: 'ann', status: 'online' },
      { userId: 'ann', status: 'offline' },
    ])
  })

  it('reports a crashed node’s users offline after the TTL and tells the other node', async () => {
    const a = await redis.node('A', { presenceTtlMs: 1500 })
    const b = await redis.node('B', { presenceTtlMs: 1500 })
    const seenByB: PresenceChange[] = []
    b.presence.onChange((c) => seenByB.push(c))
    await a.presence.connect('cat')
    await b.presence.connect('dan') // a live user on the surviving node must stay online
    await vi.waitFor(() => expect(seenByB).toHaveLength(2))

    // Crash: A stops without releasing anything.
    await a.close()
    const crashedAt = Date.now()
    await sleep(500) // longer than several heartbeats: only the TTL may expire it
    expect(await b.presence.online(['cat', 'dan'])).toEqual(new Set(['cat', 'dan']))

    await vi.waitFor(() => expect(seenByB).toContainEqual({ userId: 'cat', status: 'offline' }), { timeout: 5_000 })
    expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(1_000)
    expect(await b.presence.online(['cat', 'dan'])).toEqual(new Set(['dan']))
    await sleep(500) // several sweeps: announced once only
    expect(seenByB.filter((c) => c.userId === 'cat')).toEqual([
      { userId: 'cat', status: 'online' },
      { userId: 'cat', status: 'offline' },
    ])
  })

  it('after CLIENT KILL TYPE pubsub: resubscribes, then resyncs, then delivers again', async () => {
    const a = await redis.node('A')
    const b = await redis.node('B')
    const got: unknown[] = []
    await a.subscribe('room:k', (p) => got.push(p))
    // When onResync fires, the SUBSCRIBE must already be confirmed on the server.
    const subscribersAtResync: Array<Promise<unknown>> = []
    const causes: string[] = []
    a.onResync((cause) => {
      causes.push(cause)
      subscribersAtResync.push(redis.admin().pubsub('NUMSUB', 'room:k'))
    })

    await redis.admin().call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    await vi.waitFor(() => expect(subscribersAtResync.length).toBeGreaterThanOrEqual(1), { timeout: 5_000 })
    expect(await subscribersAtResync[0]).toEqual(['room:k', 1])
    expect(causes[0]).toBe('reconnected')
    await vi.waitFor(() => expect(b.health().ok).toBe(true))

    b.publish('room:k', 'after')
    await vi.waitFor(() => expect(got).toEqual(['after']))
  })

  it('a node whose publisher was cut off tells the others to resync once it is back', async () => {
    const a = await redis.node('A')
    const b = await redis.node('B')
    let resyncsAtB = 0
    const causesAtB: string[] = []
    b.onResync((cause) => {
      resyncsAtB++
      causesAtB.push(cause)
    })
    let resyncsAtA = 0
    a.onResync(() => resyncsAtA++)

    // Only A's publisher connection goes; B's subscriber never notices anything.
    const list = String(await redis.admin().call('CLIENT', 'LIST', 'TYPE', 'normal'))
    const id = /id=(\d+) [^\n]*name=bus-pub:A/.exec(list)?.[1]
    expect(id).toBeDefined()
    await redis.admin().call('CLIENT', 'KILL', 'ID', id!)
    await vi.waitFor(() => expect(a.health().ok).toBe(false))
    a.publish('room:p', 'lost')
    expect(a.stats().publishErrors).toBe(1)

    await vi.waitFor(() => expect(resyncsAtB).toBe(1), { timeout: 5_000 })
    // Said once, not once per heartbeat; and A doesn't resync because of its own hint.
    await new Promise((r) => setTimeout(r, 300))
    expect(resyncsAtB).toBe(1)
    expect(causesAtB).toEqual(['dropped'])
    expect(resyncsAtA).toBe(0)
  })

  it('does not ask the others to resync when nothing was dropped', async () => {
    const a = await redis.node('A')
    const b = await redis.node('B')
    let resyncsAtB = 0
    b.onResync(() => resyncsAtB++)
    const list = String(await redis.admin().call('CLIENT', 'LIST', 'TYPE', 'normal'))
    await redis.admin().call('CLIENT', 'KILL', 'ID', /id=(\d+) [^\n]*name=bus-pub:A/.exec(list)![1]!)
    await vi.waitFor(() => expect(a.health().ok).toBe(false))
    await vi.waitFor(() => expect(a.health().ok).toBe(true), { timeout: 5_000 })
    await new Promise((r) => setTimeout(r, 300))
    expect(resyncsAtB).toBe(0)
  })
})

describe('redis bus: the send path shares writes', () => {
  it('sends the rate-limit checks and publishes of one turn in one write, each answered on its own', async () => {
    const a = await redis.node('A')
    const b = await redis.node('B')
    const got: unknown[] = []
    await b.subscribe('room:w', (p) => got.push(p))
    const write = vi.spyOn(net.Socket.prototype, 'write')
    const hits = Array.from({ length: 40 }, () => a.rateLimiter.hit('send:ann', 30, 10_000))
    for (let i = 0; i < 40; i++) a.publish('room:w', { i })
    const results = await Promise.all(hits)
    // Only the publisher wrote (one pipeline); a heartbeat may have slipped in.
    expect(write.mock.calls.length).toBeLessThanOrEqual(2)
    write.mockRestore()
    // Exact counts, in the order the hits were made.
    expect(results.map((r) => r.remaining)).toEqual([...Array.from({ length: 30 }, (_, i) => 29 - i), ...new Array(10).fill(0)])
    expect(results.filter((r) => r.ok)).toHaveLength(30)
    expect(results.slice(30).every((r) => !r.ok && r.retryAfterMs > 9_000)).toBe(true)
    await vi.waitFor(() => expect(got).toHaveLength(40))
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => ({ i })))
    expect(a.stats()).toMatchObject({ published: 40, publishErrors: 0 })
  })

  it('sends the presence connects of one turn in one write (a crowd reconnecting), each announced once', async () => {
    const a = await redis.node('A')
    const b = await redis.node('B')
    const seenByB: unknown[] = []
    b.presence.onChange((c) => seenByB.push(c))
    const write = vi.spyOn(net.Socket.prototype, 'write')
    const users = Array.from({ length: 30 }, (_, i) => `crowd${i}`)
    // Two connections for the first user: online is announced once.
    const releases = await Promise.all([...users, users[0]!].map((u) => a.presence.connect(u)))
    // The connects in one pipeline, then the announcements in another; a heartbeat may have slipped in.
    expect(write.mock.calls.length).toBeLessThanOrEqual(3)
    write.mockRestore()
    expect(await b.presence.online(users)).toEqual(new Set(users))
    await vi.waitFor(() => expect(seenByB).toHaveLength(30))
    expect(new Set(seenByB)).toEqual(new Set(users.map((userId) => ({ userId, status: 'online' }))))
    await Promise.all(releases.map((release) => release()))
    expect(await b.presence.online(users)).toEqual(new Set())
    await vi.waitFor(() => expect(seenByB).toHaveLength(60))
  })

  // Whether a lone check goes out as a plain command or as a pipeline of one is invisible on the wire and
  // to callers (only its cost differs, which is a benchmark's business): this test is about the script cache.
  it('rate-limit checks sharing a write survive a flushed script cache, counting on from before it', async () => {
    const a = await redis.node('A')
    expect(await a.rateLimiter.hit('send:bob', 3, 10_000)).toMatchObject({ ok: true, remaining: 2 })
    await redis.admin().script('FLUSH')
    // NOSCRIPT inside a shared write falls back to EVAL for each caller.
    const again = await Promise.all([a.rateLimiter.hit('send:bob', 3, 10_000), a.rateLimiter.hit('send:bob', 3, 10_000), a.rateLimiter.hit('send:cy', 3, 10_000)])
    expect(again.map((r) => r.remaining).sort()).toEqual([0, 1, 2])
    expect((await a.rateLimiter.hit('send:bob', 3, 10_000)).ok).toBe(false)
  })

  it('publishes made just before close still go out', async () => {
    const a = await redis.node('A')
    const b = await redis.node('B')
    const got: unknown[] = []
    await b.subscribe('room:c', (p) => got.push(p))
    a.publish('room:c', 'last words')
    await a.close()
    await vi.waitFor(() => expect(got).toEqual(['last words']))
  })
})
