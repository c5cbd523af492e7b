/** One real redis-server per test file, flushed between tests, and ready-made bus nodes. */
import { startRedis, type RedisServer } from '@parley/testing'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, expect, vi } from 'vitest'
import { createRedisBus, type Bus, type RedisBusOptions } from '../src/index.ts'

/** Short intervals so failure detection happens within a test's time. */
export const FAST = { heartbeatMs: 100, resyncIntervalMs: 60_000, presenceSweepMs: 200 } as const

export interface RedisFixture {
  server(): RedisServer
  admin(): Redis
  /** A bus node on this server (or `url`), connected and subscribed; closed after the test. */
  node(nodeId: string, options?: Partial<RedisBusOptions>): Promise<Bus>
}

export function useRedis(): RedisFixture {
  let server: RedisServer | undefined
  let admin: Redis | undefined
  const open: Bus[] = []

  beforeAll(async () => {
    server = await startRedis()
    admin = new Redis(server.url, { retryStrategy: () => 50 })
    admin.on('error', () => undefined) // tests kill the server on purpose
  })
  beforeEach(async () => {
    await admin?.flushall()
  })
  afterEach(async () => {
    await Promise.all(open.splice(0).map((bus) => bus.close()))
  })
  afterAll(async () => {
    admin?.disconnect()
    await server?.stop()
  })

  return {
    server: () => server!,
    admin: () => admin!,
    async node(nodeId, options = {}) {
      const bus = createRedisBus({ url: server!.url, nodeId, ...FAST, ...options })
      open.push(bus)
      await vi.waitFor(() => expect(bus.health()).toEqual({ ok: true }), { timeout: 5_000 })
      return bus
    },
  }
}
