/**
 * The Bus contract, run against every implementation: each *.test.ts file
 * calls `describeBusContract` with a factory for its implementation.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Bus, PresenceChange } from '../src/index.ts'
import { sleep } from './helpers.ts'

export interface ContractHarness {
  /** A fresh, ready bus (one node). */
  create(): Promise<Bus>
  /** Channels subscribed on the server, when there is one (Redis: PUBSUB CHANNELS). */
  serverChannels?(): Promise<string[]>
}

/** Long enough for a message to travel through Redis and back. */
const SETTLE_MS = 150

export function describeBusContract(name: string, harness: ContractHarness): void {
  describe(`${name}: Bus contract`, () => {
    const open: Bus[] = []
    const create = async (): Promise<Bus> => {
      const bus = await harness.create()
      open.push(bus)
      return bus
    }
    afterEach(async () => {
      await Promise.all(open.splice(0).map((bus) => bus.close()))
    })

    it('delivers a published payload intact to a subscriber', async () => {
      const bus = await create()
      const got: unknown[] = []
      await bus.subscribe('room:r1', (p) => got.push(p))
      const payload = { kind: 'message', seq: 42, text: 'héllo "world" ✓', tags: ['a', null, 1.5], nested: { ok: true } }
      bus.publish('room:r1', payload)
      bus.publish('room:other', { nope: true })
      await vi.waitFor(() => expect(got).toHaveLength(1))
      await sleep(SETTLE_MS)
      expect(got).toEqual([payload])
      expect(bus.stats()).toMatchObject({ published: 2, received: 1, publishErrors: 0 })
    })

    it('stops delivery after unsubscribe and drops the channel when the last handler leaves', async () => {
      const bus = await create()
      const baseline = bus.stats().subscribedChannels
      const got: unknown[] = []
      const unsubscribe = await bus.subscribe('room:gone', (p) => got.push(p))
      expect(bus.stats().subscribedChannels).toBe(baseline + 1)
      if (harness.serverChannels) expect(await harness.serverChannels()).toContain('room:gone')

      bus.publish('room:gone', 1)
      await vi.waitFor(() => expect(got).toEqual([1]))
      unsubscribe()
      unsubscribe() // idempotent
      bus.publish('room:gone', 2)
      await sleep(SETTLE_MS)
      expect(got).toEqual([1])
      expect(bus.stats().subscribedChannels).toBe(baseline)
      if (harness.serverChannels) {
        const serverChannels = harness.serverChannels
        await vi.waitFor(async () => expect(await serverChannels()).not.toContain('room:gone'))
      }
    })

    it('delivers to two handlers on one channel and keeps it until both leave', async () => {
      const bus = await create()
      const a: unknown[] = []
      const b: unknown[] = []
      const offA = await bus.subscribe('user:u1', (p) => a.push(p))
      const offB = await bus.subscribe('user:u1', (p) => b.push(p))
      bus.publish('user:u1', 'one')
      await vi.waitFor(() => expect([a, b]).toEqual([['one'], ['one']]))

      offA()
      if (harness.serverChannels) expect(await harness.serverChannels()).toContain('user:u1')
      bus.publish('user:u1', 'two')
      await vi.waitFor(() => expect(b).toEqual(['one', 'two']))
      expect(a).toEqual(['one'])

      offB()
      if (harness.serverChannels) {
        const serverChannels = harness.serverChannels
        await vi.waitFor(async () => expect(await serverChannels()).not.toContain('user:u1'))
      }
    })

    it('keeps other handlers running when one throws', async () => {
      const bus = await create()
      const got: unknown[] = []
      const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined)
      try {
        await bus.subscribe('room:t', () => {
          throw new Error('handler bug')
        })
        await bus.subscribe('room:t', (p) => got.push(p))
        expect(() => bus.publish('room:t', 'x')).not.toThrow()
        await vi.waitFor(() => expect(got).toEqual(['x']))
      } finally {
        consoleError.mockRestore()
      }
    })

    it('never throws on publish; an unserialisable payload counts as a publish error', async () => {
      const bus = await create()
      expect(() => bus.publish('room:x', { big: 1n })).not.toThrow()
      expect(bus.stats().publishErrors).toBe(1)
    })

    it('tracks presence per connection and announces transitions once', async () => {
      const bus = await create()
      const changes: PresenceChange[] = []
      const off = bus.presence.onChange((c) => changes.push(c))

      const release1 = await bus.presence.connect('u1')
      const release2 = await bus.presence.connect('u1')
      expect(await bus.presence.online(['u1', 'u2'])).toEqual(new Set(['u1']))
      await vi.waitFor(() => expect(changes).toEqual([{ userId: 'u1', status: 'online' }]))

      await release1()
      await release1() // idempotent: must not release the second connection
      expect(await bus.presence.online(['u1'])).toEqual(new Set(['u1']))

      await release2()
      expect(await bus.presence.online(['u1', 'u2'])).toEqual(new Set())
      await vi.waitFor(() => expect(changes).toHaveLength(2))
      await sleep(SETTLE_MS)
      expect(changes).toEqual([
        { userId: 'u1', status: 'online' },
        { userId: 'u1', status: 'offline' },
      ])

      off()
      await (await bus.presence.connect('u3'))()
      await sleep(SETTLE_MS)
      expect(changes).toHaveLength(2)
      expect(await bus.presence.online([])).toEqual(new Set())
    })

    it('rate limits: counts hits, reports retryAfter, resets', async () => {
      const bus = await create()
      const rl = bus.rateLimiter
      expect(await rl.hit('login:ann', 3, 10_000)).toEqual({ ok: true, remaining: 2, retryAfterMs: 0 })
      expect(await rl.hit('login:ann', 3, 10_000)).toMatchObject({ ok: true, remaining: 1 })
      expect(await rl.hit('login:ann', 3, 10_000)).toMatchObject({ ok: true, remaining: 0 })
      const denied = await rl.hit('login:ann', 3, 10_000)
      expect(denied.ok).toBe(false)
      expect(denied.remaining).toBe(0)
      expect(denied.retryAfterMs).toBeGreaterThan(9_000)
      expect(denied.retryAfterMs).toBeLessThanOrEqual(10_000)
      // Other keys are independent.
      expect((await rl.hit('login:bob', 3, 10_000)).ok).toBe(true)

      await rl.reset('login:ann')
      expect(await rl.hit('login:ann', 3, 10_000)).toMatchObject({ ok: true, remaining: 2 })
    })

    it('rate limits: a new window starts when the old one expires', async () => {
      const bus = await create()
      const rl = bus.rateLimiter
      await rl.hit('k', 1, 300)
      const denied = await rl.hit('k', 1, 300)
      expect(denied.ok).toBe(false)
      await sleep(denied.retryAfterMs + 30)
      expect(await rl.hit('k', 1, 300)).toMatchObject({ ok: true, remaining: 0 })
    })
  })
}
