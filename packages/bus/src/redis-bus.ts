/**
 * Redis pub/sub bus for N nodes. One publisher and one dedicated subscriber
 * connection per node; a channel is subscribed on Redis only while a local
 * handler needs it (the handler registry is the refcount).
 *
 * Own messages: a node delivers what it publishes to its local handlers
 * directly, at publish time, and ignores the echo Redis sends back (every
 * envelope carries its origin `o`). So users on the same node keep getting
 * each other's events while Redis is down, they don't pay a Redis round trip,
 * and nothing is delivered twice. The price: a node sees its own messages
 * before remote ones published slightly earlier — ordering across nodes was
 * never guaranteed anyway; consumers order by the database's seq.
 *
 * Pub/sub loses messages silently, so `onResync` fires (consumers then catch
 * up from the database):
 *  - after the subscriber (re)connected and Redis confirmed all SUBSCRIBEs.
 *    We re-issue them ourselves on 'ready' and await the replies; ioredis'
 *    autoResubscribe is off because it reports 'ready' before its SUBSCRIBEs
 *    are answered, and a resync before that could miss messages again;
 *  - when the node stops hearing its own heartbeat (`bus:hb:<nodeId>`) for ~3
 *    intervals while Redis keeps accepting it: a half-open subscriber socket,
 *    which we drop and reconnect, which leads to the case above;
 *  - when another node says it dropped publishes (`bus:resync`): its
 *    publisher was cut off from Redis while our subscriber stayed connected,
 *    so nothing else tells us we missed its messages. A node sends that once
 *    its publisher works again (and retries on each heartbeat until it goes
 *    out);
 *  - every `resyncIntervalMs` as a safety net.
 */
import { Redis, type RedisOptions } from 'ioredis'
import type { Bus, BusHandler, BusHealth, BusStats, PresenceChange, ResyncCause } from './types.ts'
import { PRESENCE_CHANNEL, RESYNC_CHANNEL, heartbeatChannel } from './channels.ts'
import { Callbacks, HandlerRegistry } from './handlers.ts'
import { HeartbeatMonitor } from './heartbeat.ts'
import { errorMessage, type BusLogger } from './logger.ts'
import { createMemoryRateLimiter } from './memory-rate-limiter.ts'
import { createRedisPresence } from './redis-presence.ts'
import { createRedisRateLimiter } from './redis-rate-limiter.ts'
import { createTurnBatch } from './turn-batch.ts'

/** The Redis bus's timings (a node sets each from its environment: docs/operations.md). */
export interface RedisBusTimings {
  /** Safety-net resync period. */
  resyncIntervalMs: number
  /** Own heartbeat and presence refresh period. */
  heartbeatMs: number
  /** How long a connection stays online without a refresh (crashed node). */
  presenceTtlMs: number
  /** How long `subscribe()` waits for a subscriber that is down before resolving anyway. */
  subscribeTimeoutMs: number
  /** Commands (presence, rate limits) fail after this long instead of hanging. */
  commandTimeoutMs: number
}

export const REDIS_BUS_DEFAULTS: RedisBusTimings = {
  resyncIntervalMs: 30_000,
  heartbeatMs: 5_000,
  presenceTtlMs: 30_000,
  subscribeTimeoutMs: 5_000,
  commandTimeoutMs: 2_000,
}

export interface RedisBusOptions extends Partial<RedisBusTimings> {
  url: string
  nodeId: string
  /** How often this node looks for expired users; default ttl/3, between 250 ms and 10 s. */
  presenceSweepMs?: number
  logger?: BusLogger
}

/** What travels on Redis: origin node and payload, serialised once per publish. */
interface Envelope {
  o: string
  p: unknown
}

/** Missed heartbeats before the subscriber is declared half-open. */
const MISSED_HEARTBEATS = 3
/** Errors while Redis looks healthy (timeouts, a failed script) are logged at most this often. */
const TRANSIENT_LOG_EVERY_MS = 60_000

export function createRedisBus(options: RedisBusOptions): Bus {
  const { url, nodeId, logger } = options
  const D = REDIS_BUS_DEFAULTS
  const resyncIntervalMs = options.resyncIntervalMs ?? D.resyncIntervalMs
  const heartbeatMs = options.heartbeatMs ?? D.heartbeatMs
  const presenceTtlMs = options.presenceTtlMs ?? D.presenceTtlMs
  const subscribeTimeoutMs = options.subscribeTimeoutMs ?? D.subscribeTimeoutMs
  const commandTimeoutMs = options.commandTimeoutMs ?? D.commandTimeoutMs
  const sweepMs = options.presenceSweepMs ?? Math.min(10_000, Math.max(250, Math.round(presenceTtlMs / 3)))
  const hbChannel = heartbeatChannel(nodeId)

  const common: RedisOptions = {
    // Reconnect forever, quickly: an outage should end as soon as Redis is back.
    retryStrategy: (times) => Math.min(times * 100, 1000),
    // Fail fast instead of queueing: a publish during an outage is dropped and
    // counted, a rate-limit check falls back to memory. Nothing piles up.
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
  }
  const pub = new Redis(url, { ...common, connectionName: `bus-pub:${nodeId}`, maxRetriesPerRequest: 1 })
  const sub = pub.duplicate({
    ...common,
    connectionName: `bus-sub:${nodeId}`,
    // We resubscribe ourselves (see header) and never replay stale commands.
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    // A SUBSCRIBE of thousands of channels may take a while; the heartbeat
    // catches a subscriber that really is stuck.
    commandTimeout: undefined,
  })

  const registry = new HandlerRegistry(logger)
  const resync = new Callbacks<[ResyncCause]>(logger)
  const changes = new Callbacks<[PresenceChange]>(logger)
  const heartbeat = new HeartbeatMonitor(heartbeatMs, MISSED_HEARTBEATS)
  const stats: BusStats = { published: 0, received: 0, publishErrors: 0, subscribedChannels: 0 }
  const timers: NodeJS.Timeout[] = []
  let closed = false

  // Bumped on every subscriber connection change, so a confirmation that
  // arrives for an older connection is ignored.
  let subEpoch = 0
  /** The subscriber is connected and Redis confirmed every channel we need. */
  let subConfirmed = false
  /** Publishes dropped since other nodes were last told to resync (see header). */
  let unannouncedDrops = 0

  function health(): BusHealth {
    const why = lastError ? ` (${lastError})` : ''
    if (closed) return { ok: false, detail: 'redis: bus closed' }
    if (pub.status !== 'ready') return { ok: false, detail: `redis: publisher ${pub.status}${why}` }
    if (sub.status !== 'ready') return { ok: false, detail: `redis: subscriber ${sub.status}${why}` }
    if (!subConfirmed) return { ok: false, detail: 'redis: subscriber resubscribing' }
    return { ok: true }
  }

  // --- failures: one warning when an outage starts, one info when it ends ---
  let lastError: string | undefined
  let outage: { since: number; errorsBefore: number } | undefined
  let transientLoggedAt = -Infinity

  const noteFailure = (err: unknown): void => {
    lastError = errorMessage(err)
    if (closed || outage) return
    if (health().ok) {
      // A timeout or failed command on a working connection: not an outage.
      if (Date.now() - transientLoggedAt < TRANSIENT_LOG_EVERY_MS) return
      transientLoggedAt = Date.now()
      logger?.warn({ err: lastError }, 'bus: redis command failed')
      return
    }
    outage = { since: Date.now(), errorsBefore: stats.publishErrors }
    logger?.warn({ err: lastError }, 'bus: redis unavailable; messages to other nodes are dropped until it is back')
  }
  const noteRecovered = (): void => {
    if (!outage || !health().ok) return
    logger?.info(
      { downMs: Date.now() - outage.since, droppedPublishes: stats.publishErrors - outage.errorsBefore },
      'bus: redis available again',
    )
    outage = undefined
  }

  for (const [role, conn] of [['publisher', pub], ['subscriber', sub]] as const) {
    // Without an 'error' listener ioredis would print every failed reconnect.
    conn.on('error', noteFailure)
    conn.on('close', () => noteFailure(new Error(`${role} connection lost`)))
  }
  pub.on('ready', noteRecovered)

  // --- subscriber: subscribe everything on each connection, then resync ---
  const confirmWaiters = new Set<() => void>()
  const inFlight = new Map<string, Promise<void>>()

  /** Resolves at the next confirmed (re)subscription, or after `ms` at the latest. */
  const waitConfirmed = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        confirmWaiters.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      confirmWaiters.add(done)
    })
  const releaseWaiters = (): void => {
    for (const done of [...confirmWaiters]) done()
  }

  sub.on('close', () => {
    subEpoch++
    subConfirmed = false
  })
  sub.on('ready', () => {
    const epoch = ++subEpoch
    subConfirmed = false
    // A fresh connection has no subscriptions. Channels added while this is
    // in flight send their own SUBSCRIBE (see `confirm`).
    sub.subscribe(hbChannel, RESYNC_CHANNEL, ...registry.names()).then(
      () => {
        if (closed || epoch !== subEpoch) return
        subConfirmed = true
        heartbeat.reset()
        releaseWaiters()
        noteRecovered()
        resync.run({ reason: 'subscriber connected' }, 'reconnected')
      },
      noteFailure, // the connection dropped again; the next 'ready' retries
    )
  })

  sub.on('message', (channel: string, raw: string) => {
    if (channel === hbChannel) return heartbeat.heard(raw)
    if (channel === RESYNC_CHANNEL) {
      if (raw !== nodeId) resync.run({ reason: `node ${raw} dropped publishes` }, 'dropped')
      return
    }
    // A message can still arrive just after the last local handler left.
    if (!registry.has(channel)) return
    let envelope: Envelope
    try {
      envelope = JSON.parse(raw) as Envelope
    } catch {
      return // not from a bus node
    }
    if (envelope.o === nodeId) return // own echo: delivered locally at publish time
    if (registry.dispatch(channel, envelope.p)) stats.received++
  })

  /** Wait until `channel` is subscribed on Redis (or the subscriber is down and the wait times out). */
  const confirm = async (channel: string, first: boolean): Promise<void> => {
    if (first && sub.status === 'ready') {
      const done: Promise<void> = sub.subscribe(channel).then(
        () => undefined,
        () => waitConfirmed(subscribeTimeoutMs),
      )
      inFlight.set(channel, done)
      void done.finally(() => {
        if (inFlight.get(channel) === done) inFlight.delete(channel)
      })
    }
    const pending = inFlight.get(channel)
    if (pending) return pending
    // Disconnected: the channel is part of the next full resubscription, and
    // onResync follows that. Don't hold the caller for a whole outage though.
    if (!subConfirmed && !closed) return waitConfirmed(subscribeTimeoutMs)
  }

  const checkHeartbeat = (): void => {
    if (!subConfirmed || pub.status !== 'ready') return
    const silentMs = heartbeat.silentForMs()
    if (silentMs === undefined) return
    logger?.warn({ silentMs }, 'bus: own heartbeat not heard; reconnecting the subscriber')
    subConfirmed = false
    heartbeat.reset()
    sub.disconnect(true)
  }
  /** Tell the other nodes to catch up if this one dropped publishes (they may not have noticed any outage). */
  const announceDrops = (): void => {
    if (unannouncedDrops === 0 || closed || pub.status !== 'ready') return
    const dropped = unannouncedDrops
    unannouncedDrops = 0
    pub.publish(RESYNC_CHANNEL, nodeId).catch((err: unknown) => {
      unannouncedDrops += dropped
      noteFailure(err)
    })
  }
  const sendHeartbeat = (): void => {
    if (pub.status !== 'ready') return
    const seq = heartbeat.next()
    pub.publish(hbChannel, String(seq)).then(() => heartbeat.published(seq), noteFailure)
  }

  // --- publish ---
  // Publishes, rate-limit checks and presence connects issued in the same turn share one write (turn-batch.ts).
  const turn = createTurnBatch(pub)
  const publish = (channel: string, payload: unknown): void => {
    stats.published++
    let envelope: string
    try {
      envelope = JSON.stringify({ o: nodeId, p: payload } satisfies Envelope)
    } catch (err) {
      stats.publishErrors++
      logger?.warn({ channel, err: errorMessage(err) }, 'bus: payload is not serialisable')
      return
    }
    // Local handlers get the decoded serialised form: exactly what remote ones see.
    if (registry.has(channel) && registry.dispatch(channel, (JSON.parse(envelope) as Envelope).p)) stats.received++
    if (closed || pub.status !== 'ready') {
      stats.publishErrors++
      unannouncedDrops++
      noteFailure(new Error(closed ? 'bus closed' : `publisher ${pub.status}`))
      return
    }
    turn.call('publish', [channel, envelope]).catch((err: unknown) => {
      stats.publishErrors++
      unannouncedDrops++
      noteFailure(err)
    })
  }

  // --- presence and rate limits ---
  const presence = createRedisPresence({
    redis: pub,
    turn,
    nodeId,
    ttlMs: presenceTtlMs,
    announce: (change) => publish(PRESENCE_CHANNEL, change),
    changes,
    onError: noteFailure,
  })
  // Always subscribed: every node needs the cluster's transitions.
  registry.add(PRESENCE_CHANNEL, (payload) => changes.run({ channel: PRESENCE_CHANNEL }, payload as PresenceChange))
  const rateLimiter = createRedisRateLimiter(pub, createMemoryRateLimiter(), noteFailure, turn)
  // A Redis that comes back may have lost its data (a restart): write this
  // node's connections again now, not at the next heartbeat, so its users
  // don't look offline in the meantime.
  pub.on('ready', () => {
    if (closed) return
    announceDrops()
    presence.refresh().catch(noteFailure)
  })

  // --- timers (unref'd: they must not keep a process alive) ---
  const every = (ms: number, fn: () => void): void => {
    const timer = setInterval(fn, ms)
    timer.unref()
    timers.push(timer)
  }
  every(heartbeatMs, () => {
    checkHeartbeat()
    sendHeartbeat()
    announceDrops()
    if (pub.status === 'ready') presence.refresh().catch(noteFailure)
  })
  every(sweepMs, () => {
    if (pub.status === 'ready') presence.sweep().catch(noteFailure)
  })
  every(resyncIntervalMs, () => {
    // While disconnected a resync can't find anything new; the reconnect fires one.
    if (subConfirmed) resync.run({ reason: 'interval' }, 'interval')
  })

  return {
    nodeId,
    publish,
    async subscribe(channel: string, handler: BusHandler) {
      // Wrap so one function subscribed twice counts as two subscriptions.
      const entry: BusHandler = (payload) => handler(payload)
      const first = registry.add(channel, entry)
      let done = false
      const unsubscribe = (): void => {
        if (done) return
        done = true
        // Commands on one connection run in order, so an UNSUBSCRIBE followed
        // by a new SUBSCRIBE of the same channel ends subscribed. If the
        // subscriber is down, the next connection simply won't subscribe it.
        if (registry.remove(channel, entry) && sub.status === 'ready') sub.unsubscribe(channel).catch(noteFailure)
      }
      await confirm(channel, first)
      return unsubscribe
    },
    onResync: (handler) => resync.add(handler),
    presence: presence.presence,
    rateLimiter,
    health,
    stats: () => ({ ...stats, subscribedChannels: registry.size }),
    async close() {
      if (closed) return
      closed = true
      for (const timer of timers) clearInterval(timer)
      releaseWaiters()
      turn.flush() // publishes of this turn go out before QUIT
      // Presence is left to expire (TTL): a restarting node's users who
      // reconnect elsewhere within it never flicker offline.
      await Promise.all([pub, sub].map(shutdown))
    },
  }
}

/** QUIT (lets pending publishes go out), but never wait long on a dead or half-open socket. */
async function shutdown(conn: Redis): Promise<void> {
  if (conn.status === 'ready') {
    const timer = setTimeout(() => conn.disconnect(), 1_000)
    try {
      await conn.quit()
    } catch {
      // disconnected by the timer, or the connection broke: either way it's closed
    } finally {
      clearTimeout(timer)
    }
  }
  if (conn.status !== 'end') conn.disconnect()
}
