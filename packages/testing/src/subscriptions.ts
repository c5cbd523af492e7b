/** Collects a tRPC subscription's output so tests can wait for what a user would see. */
import type { Unsubscribable } from '@trpc/server/observable'

export interface Collected<T> {
  items: T[]
  /** Tracked ids, in arrival order. */
  ids: string[]
  errors: unknown[]
  lastId: string | undefined
  started: Promise<void>
  /** Resolves when `predicate(items)` holds; rejects after `timeoutMs`. */
  until(predicate: (items: T[]) => boolean, timeoutMs?: number): Promise<T[]>
  stop(): void
}

type Subscribe<T> = (handlers: {
  onStarted?: () => void
  onData: (value: T | { id: string; data: T }) => void
  onError: (err: unknown) => void
}) => Unsubscribable

export function collect<T>(subscribe: Subscribe<T>): Collected<T> {
  const items: T[] = []
  const ids: string[] = []
  const errors: unknown[] = []
  const waiters = new Set<() => void>()
  let resolveStarted!: () => void
  const started = new Promise<void>((r) => (resolveStarted = r))
  const notify = () => waiters.forEach((w) => w())
  const sub = subscribe({
    onStarted: () => resolveStarted(),
    onData(value) {
      // Tracked events arrive as { id, data }; untracked ones as the bare value.
      if (value && typeof value === 'object' && 'id' in value && 'data' in value && typeof value.id === 'string') {
        ids.push(value.id)
        items.push(value.data as T)
      } else items.push(value as T)
      notify()
    },
    onError(err) {
      errors.push(err)
      notify()
    },
  })
  return {
    items,
    ids,
    errors,
    started,
    get lastId() {
      return ids[ids.length - 1]
    },
    until(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(items)) {
            waiters.delete(check)
            clearTimeout(timer)
            resolve(items)
          } else if (errors.length) {
            waiters.delete(check)
            clearTimeout(timer)
            reject(errors[0])
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out after ${timeoutMs} ms with ${items.length} items`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    stop: () => sub.unsubscribe(),
  }
}
