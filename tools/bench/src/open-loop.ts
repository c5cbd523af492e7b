import { nowNs } from './recorder.ts'

/**
 * Calls `fire(intendedNs)` `rate` times a second for `durationMs` (or until stop() when Infinity),
 * each with its scheduled time, late or not: an open loop, so a slow server cannot hide its latency.
 * The timer is set for the next due send, not on a fixed 1-ms tick: on this VM every wake-up of an
 * otherwise idle process costs ~80 µs of CPU (measured), 70 ms/s per process for a 1-ms interval.
 */
export function openLoop(rate: number, durationMs: number, fire: (intendedNs: number) => void): { done: Promise<void>; stop: () => void } {
  let stop = () => {}
  const done = new Promise<void>((resolve) => {
    if (rate <= 0) return resolve()
    const interval = 1e9 / rate
    const total = Number.isFinite(durationMs) ? Math.floor((rate * durationMs) / 1000) : Infinity
    const t0 = nowNs()
    let k = 0
    let timer: NodeJS.Timeout | null = null
    const tick = () => {
      timer = null
      const t = nowNs()
      while (k < total && t0 + k * interval <= t) {
        fire(t0 + k * interval)
        k++
      }
      if (k >= total) return resolve()
      // Node timers have 1-ms resolution: wake at the first whole ms at or after the next due time.
      timer = setTimeout(tick, Math.max(1, Math.ceil((t0 + k * interval - nowNs()) / 1e6)))
    }
    tick()
    stop = () => {
      if (timer) clearTimeout(timer)
      timer = null
      k = total
      resolve()
    }
  })
  return { done, stop: () => stop() }
}
