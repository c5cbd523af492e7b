/**
 * The event-bus contract: fan-out of room/user events between server nodes,
 * cluster-wide presence and rate limits. Two implementations sit underneath:
 * in-process (one node, no Redis) and Redis pub/sub (N nodes).
 *
 * Delivery is at-most-once. Consumers that need every event (events.room)
 * treat the bus as a hint and catch up from MongoDB; `onResync` tells them
 * when messages may have been lost.
 */

/** Called with the payload exactly as published (already JSON-decoded for Redis). */
export type BusHandler = (payload: unknown) => void

/** Why a resync: the subscriber reconnected, another node dropped publishes, or the periodic safety net. */
export type ResyncCause = 'reconnected' | 'dropped' | 'interval'

export interface Bus {
  /** This node's id; every message is tagged with it. */
  readonly nodeId: string
  /**
   * Publish to a channel (e.g. `room:<id>`, `user:<id>`). The payload is
   * serialised once, however many local or remote subscribers there are.
   * Local subscribers on this node receive it synchronously-or-soon too.
   * Never throws: while Redis is down it counts an error and drops the message
   * (the database is the source of truth).
   */
  publish(channel: string, payload: unknown): void
  /**
   * Listen to a channel. The channel is subscribed on Redis while at least one
   * local handler needs it and unsubscribed when the last one leaves.
   * Resolves once the subscription is confirmed by Redis; returns the unsubscribe.
   */
  subscribe(channel: string, handler: BusHandler): Promise<() => void>
  /**
   * Register a callback run when messages may have been missed: after the
   * Redis subscriber reconnected and its SUBSCRIBEs are confirmed again, after
   * a lost heartbeat, when another node says it dropped publishes, and every
   * `resyncIntervalMs` (~30 s) as a safety net. `cause` tells the safety net
   * (nothing is known to be lost) from the others.
   */
  onResync(handler: (cause: ResyncCause) => void): () => void
  readonly presence: Presence
  readonly rateLimiter: RateLimiter
  /** For /readyz: ok=false while Redis is unreachable. */
  health(): BusHealth
  /** Counters for /metrics. */
  stats(): BusStats
  close(): Promise<void>
}

export interface BusHealth {
  ok: boolean
  /** e.g. 'redis: connection refused' */
  detail?: string
}

export interface BusStats {
  published: number
  received: number
  publishErrors: number
  subscribedChannels: number
}

export type PresenceStatus = 'online' | 'offline'
export interface PresenceChange {
  userId: string
  status: PresenceStatus
}

/**
 * Who is online anywhere in the cluster. A user is online while at least one
 * connection on any node holds them; a crashed node's users expire by
 * themselves (heartbeat TTL, ~30 s) without anyone cleaning up.
 */
export interface Presence {
  /** Mark one connection of `userId` as online; returns the release function. */
  connect(userId: string): Promise<() => Promise<void>>
  /** The subset of `userIds` online anywhere. */
  online(userIds: readonly string[]): Promise<Set<string>>
  /** Transitions, cluster-wide (including expiries noticed by a periodic sweep). */
  onChange(handler: (change: PresenceChange) => void): () => void
}

export interface RateLimitResult {
  ok: boolean
  /** When !ok: how long until the next attempt may succeed. */
  retryAfterMs: number
  remaining: number
}

/** Fixed-window counters, cluster-wide when Redis is configured. */
export interface RateLimiter {
  /** Count one hit on `key`; at most `limit` hits per `windowMs`. */
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult>
  /** Forget a key (e.g. after a successful login). */
  reset(key: string): Promise<void>
}
