/**
 * A small unbounded async queue for subscriptions: bus handlers push, the
 * subscription's generator pulls. Cheaper than `on(emitter)` per subscriber,
 * and ends cleanly when the request's signal aborts.
 */
export interface AsyncQueue<T> {
  push(item: T): void
  /** Resolves with the next item, or null once `signal` aborted. */
  next(): Promise<T | null>
  readonly size: number
}

export function createQueue<T>(signal: AbortSignal | undefined): AsyncQueue<T> {
  const items: T[] = []
  let head = 0
  let waiting: ((item: T | null) => void) | null = null
  signal?.addEventListener(
    'abort',
    () => {
      waiting?.(null)
      waiting = null
    },
    { once: true },
  )
  return {
    push(item) {
      if (waiting) {
        const w = waiting
        waiting = null
        w(item)
      } else items.push(item)
    },
    next() {
      if (signal?.aborted) return Promise.resolve(null)
      if (head < items.length) {
        const item = items[head++]!
        if (head === items.length) {
          items.length = 0
          head = 0
        } else if (head > 1024) {
          items.splice(0, head)
          head = 0
        }
        return Promise.resolve(item)
      }
      return new Promise((resolve) => (waiting = resolve))
    },
    get size() {
      return items.length - head
    },
  }
}
