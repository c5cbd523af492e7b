import { expect, it } from 'vitest'
import { createBus, createMemoryBus, createMemoryRateLimiter } from '../src/index.ts'
import { describeBusContract } from './contract.ts'

describeBusContract('memory bus', { create: async () => createMemoryBus({ nodeId: 'mem' }) })

it('createBus without a Redis URL is the in-process bus', async () => {
  const bus = createBus({ nodeId: 'n1' })
  expect(bus.nodeId).toBe('n1')
  expect(bus.health()).toEqual({ ok: true })
  await bus.close()
  expect(bus.health().ok).toBe(false)
})

it('memory rate limiter forgets expired windows', async () => {
  let now = 0
  const rl = createMemoryRateLimiter(() => now)
  for (let i = 0; i < 100; i++) await rl.hit(`ip:${i}`, 5, 1000)
  expect(rl.size()).toBe(100)
  now = 120_000 // past the windows and past the sweep period
  await rl.hit('ip:new', 5, 1000)
  expect(rl.size()).toBe(1)
})
