/**
 * @parley/bus — fan-out of room/user events between server nodes, cluster-wide
 * presence and rate limits.
 *
 * - No Redis configured: `createMemoryBus`, everything in this process.
 * - Redis configured: `createRedisBus`, pub/sub between nodes, presence and
 *   rate limits in Redis (see redis-bus.ts for delivery and resync rules).
 *
 * Delivery is at-most-once either way; the database is the source of truth
 * and `onResync` says when to catch up from it.
 */
import type { Bus } from './types.ts'
import type { BusLogger } from './logger.ts'
import { createMemoryBus } from './memory-bus.ts'
import { createRedisBus, type RedisBusTimings } from './redis-bus.ts'

export type * from './types.ts'
export type { BusLogger } from './logger.ts'
export type { MemoryBusOptions } from './memory-bus.ts'
export type { RedisBusOptions, RedisBusTimings } from './redis-bus.ts'
export { createMemoryBus } from './memory-bus.ts'
export { PRESENCE_CHANNEL } from './channels.ts'
export { createRedisBus, REDIS_BUS_DEFAULTS } from './redis-bus.ts'
export { createMemoryRateLimiter } from './memory-rate-limiter.ts'

export interface CreateBusOptions {
  /** e.g. `redis://127.0.0.1:6379`; without it the bus is in-process (one node). */
  redisUrl?: string
  nodeId: string
  logger?: BusLogger
  /** The Redis bus's timings (default REDIS_BUS_DEFAULTS); unused in-process. */
  timings?: Partial<RedisBusTimings>
}

export function createBus({ redisUrl, nodeId, logger, timings }: CreateBusOptions): Bus {
  return redisUrl ? createRedisBus({ ...timings, url: redisUrl, nodeId, logger }) : createMemoryBus({ nodeId, logger })
}
