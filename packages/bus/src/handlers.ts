/**
 * The local side of every bus: channel → handlers, and the fan-out to them.
 * A throwing handler is a bug in its owner; it is reported and must not keep
 * the other handlers of the channel (or the Redis reader) from running.
 */
import type { BusHandler } from './types.ts'
import { errorMessage, type BusLogger } from './logger.ts'

export class HandlerRegistry {
  private readonly channels = new Map<string, Set<BusHandler>>()

  constructor(private readonly logger?: BusLogger) {}

  /** Adds a handler; true when it is the channel's first one. */
  add(channel: string, handler: BusHandler): boolean {
    const set = this.channels.get(channel)
    if (set) {
      set.add(handler)
      return false
    }
    this.channels.set(channel, new Set([handler]))
    return true
  }

  /** Removes a handler; true when the channel has none left (and was forgotten). */
  remove(channel: string, handler: BusHandler): boolean {
    const set = this.channels.get(channel)
    if (!set || !set.delete(handler) || set.size > 0) return false
    this.channels.delete(channel)
    return true
  }

  has(channel: string): boolean {
    return this.channels.has(channel)
  }

  get size(): number {
    return this.channels.size
  }

  names(): string[] {
    return [...this.channels.keys()]
  }

  /** Runs every handler of `channel` with `payload`; false when there were none. */
  dispatch(channel: string, payload: unknown): boolean {
    const set = this.channels.get(channel)
    if (!set) return false
    // Copy: a handler may unsubscribe itself (or others) while we iterate.
    for (const handler of [...set]) runSafely(this.logger, () => handler(payload), { channel })
    return true
  }
}

/** Runs a callback, reporting instead of throwing. */
export function runSafely(logger: BusLogger | undefined, fn: () => void, context: object): void {
  try {
    fn()
  } catch (err) {
    if (logger) logger.warn({ ...context, err: errorMessage(err) }, 'bus: handler threw')
    else console.error('bus: handler threw', context, err)
  }
}

/** A set of plain callbacks (resync, presence changes) with safe fan-out. */
export class Callbacks<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>()

  constructor(private readonly logger?: BusLogger) {}

  add(fn: (...args: A) => void): () => void {
    // Wrap so the same function registered twice gets two independent registrations.
    const entry = (...args: A): void => fn(...args)
    this.set.add(entry)
    return () => {
      this.set.delete(entry)
    }
  }

  run(context: object, ...args: A): void {
    for (const fn of [...this.set]) runSafely(this.logger, () => fn(...args), context)
  }
}
