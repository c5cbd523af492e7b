/**
 * Fixed-window rate limiter in process memory. Used by the in-process bus and
 * by the Redis bus as its fallback while Redis is unreachable.
 */
import type { RateLimiter, RateLimitResult } from './types.ts'

interface Window {
  count: number
  resetAt: number
}

/** Expired windows are dropped at most this often, so the map can't grow forever. */
const SWEEP_EVERY_MS = 60_000

export interface MemoryRateLimiter extends RateLimiter {
  /** Number of live windows (for tests and metrics). */
  size(): number
}

export function createMemoryRateLimiter(now: () => number = Date.now): MemoryRateLimiter {
  const windows = new Map<string, Window>()
  let nextSweepAt = now() + SWEEP_EVERY_MS

  const sweep = (t: number): void => {
    if (t < nextSweepAt) return
    nextSweepAt = t + SWEEP_EVERY_MS
    for (const [key, w] of windows) if (w.resetAt <= t) windows.delete(key)
  }

  return {
    async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
      const t = now()
      sweep(t)
      let w = windows.get(key)
      if (!w || w.resetAt <= t) {
        w = { count: 0, resetAt: t + windowMs }
        windows.set(key, w)
      }
      // Rejected hits count too, as INCR does on Redis: hammering never helps.
      w.count++
      const ok = w.count <= limit
      return { ok, remaining: Math.max(0, limit - w.count), retryAfterMs: ok ? 0 : w.resetAt - t }
    },
    async reset(key: string): Promise<void> {
      windows.delete(key)
    },
    size: () => windows.size,
  }
}
