/**
 * Cluster-wide fixed-window limiter: INCR + PEXPIRE in one script, retryAfter
 * from PTTL. While Redis is unreachable it falls back to this node's memory
 * rather than failing open: the limits guard logins and signups, and losing
 * brute-force protection exactly when the infrastructure is degraded is the
 * wrong trade. (Per node only, so an attacker spread over N nodes gets N× the
 * budget during an outage — far better than unlimited.)
 */
import type { Redis } from 'ioredis'
import type { RateLimiter, RateLimitResult } from './types.ts'
import { LuaScript } from './lua.ts'
import type { MemoryRateLimiter } from './memory-rate-limiter.ts'
import { createTurnBatch, type TurnBatch } from './turn-batch.ts'

const HIT = new LuaScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
-- -1: the first hit of a window (or a key somehow left without TTL).
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`)

export const RATE_LIMIT_PREFIX = 'rl:'

export function createRedisRateLimiter(
  redis: Redis,
  fallback: MemoryRateLimiter,
  onError: (err: unknown) => void,
  /** Shares writes with the other commands issued in the same turn (the bus passes its publisher's). */
  turn: TurnBatch = createTurnBatch(redis),
): RateLimiter {
  return {
    async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
      if (redis.status === 'ready') {
        try {
          const [count, ttl] = (await HIT.runBatched(turn, [RATE_LIMIT_PREFIX + key], [Math.max(1, Math.ceil(windowMs))])) as [number, number]
          const ok = count <= limit
          return { ok, remaining: Math.max(0, limit - count), retryAfterMs: ok ? 0 : Math.max(1, ttl) }
        } catch (err) {
          onError(err)
        }
      }
      return fallback.hit(key, limit, windowMs)
    },
    async reset(key: string): Promise<void> {
      await fallback.reset(key)
      try {
        await redis.del(RATE_LIMIT_PREFIX + key)
      } catch (err) {
        // The window expires by itself; a failed reset only delays the next attempt.
        onError(err)
      }
    },
  }
}
