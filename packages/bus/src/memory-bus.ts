/**
 * In-process bus for a single node (no Redis): the same contract, delivered
 * through a local handler map. Payloads go through JSON exactly like on Redis,
 * so code that works on one node keeps working on many (no Dates, class
 * instances or shared mutable objects sneaking through).
 */
import type { Bus, BusHandler, BusStats, Presence, PresenceChange, ResyncCause } from './types.ts'
import { Callbacks, HandlerRegistry } from './handlers.ts'
import { errorMessage, type BusLogger } from './logger.ts'
import { createMemoryRateLimiter } from './memory-rate-limiter.ts'
import { PRESENCE_CHANNEL } from './channels.ts'

export interface MemoryBusOptions {
  nodeId: string
  logger?: BusLogger
}

export function createMemoryBus({ nodeId, logger }: MemoryBusOptions): Bus {
  const registry = new HandlerRegistry(logger)
  const resync = new Callbacks<[ResyncCause]>(logger)
  const changes = new Callbacks<[PresenceChange]>(logger)
  const stats: BusStats = { published: 0, received: 0, publishErrors: 0, subscribedChannels: 0 }
  let closed = false

  const publish = (channel: string, payload: unknown): void => {
    stats.published++
    if (closed) {
      stats.publishErrors++
      return
    }
    let json: string | undefined
    try {
      // Serialised even without subscribers: a payload Redis couldn't carry
      // fails here too, not only once the app runs on several nodes.
      json = JSON.stringify(payload)
    } catch (err) {
      stats.publishErrors++
      logger?.warn({ channel, err: errorMessage(err) }, 'bus: payload is not serialisable')
      return
    }
    if (!registry.has(channel)) return
    // Decoded once: every handler sees the same copy, as on Redis.
    if (registry.dispatch(channel, json === undefined ? undefined : JSON.parse(json))) stats.received++
  }

  // Presence changes travel on the bus like on Redis, so `subscribe('presence')` sees them too.
  registry.add(PRESENCE_CHANNEL, (payload) => changes.run({ channel: PRESENCE_CHANNEL }, payload as PresenceChange))

  const connections = new Map<string, number>()
  const presence: Presence = {
    async connect(userId) {
      const count = (connections.get(userId) ?? 0) + 1
      connections.set(userId, count)
      if (count === 1) publish(PRESENCE_CHANNEL, { userId, status: 'online' } satisfies PresenceChange)
      let released = false
      return async () => {
        if (released) return
        released = true
        const left = (connections.get(userId) ?? 1) - 1
        if (left > 0) {
          connections.set(userId, left)
          return
        }
        connections.delete(userId)
        publish(PRESENCE_CHANNEL, { userId, status: 'offline' } satisfies PresenceChange)
      }
    },
    async online(userIds) {
      return new Set(userIds.filter((id) => connections.has(id)))
    },
    onChange: (handler) => changes.add(handler),
  }

  return {
    nodeId,
    publish,
    async subscribe(channel: string, handler: BusHandler) {
      // Wrap so one function subscribed twice counts as two subscriptions.
      const entry: BusHandler = (payload) => handler(payload)
      registry.add(channel, entry)
      let done = false
      return () => {
        if (done) return
        done = true
        registry.remove(channel, entry)
      }
    },
    onResync: (handler) => resync.add(handler),
    presence,
    rateLimiter: createMemoryRateLimiter(),
    health: () => (closed ? { ok: false, detail: 'bus: closed' } : { ok: true }),
    stats: () => ({ ...stats, subscribedChannels: registry.size }),
    async close() {
      closed = true
    },
  }
}
