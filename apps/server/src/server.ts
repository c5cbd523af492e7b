/**
 * Assembles one Parley node from validated config: opens MongoDB (or starts
 * the embedded server), the bus (Redis or in-process), auth, and the app.
 * main.ts calls it for the real process; tests call it with their own Env.
 */
import path from 'node:path'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import type { ApiLimits } from '@parley/api'
import { createAuth } from '@parley/auth'
import { createBus } from '@parley/bus'
import { connectDatabase, type Database } from '@parley/db'
import { startEmbeddedMongo } from '@parley/embedded-mongo'
import { createApp, type App } from './app.ts'
import { connectionLimits } from './connection-limits.ts'
import type { Env } from './env.ts'
import { createMetrics } from './metrics.ts'
import pkg from '../package.json' with { type: 'json' }

/** What system.info reports; bundled into dist at build time. */
export const VERSION = pkg.version

export interface RunningServer {
  app: App
  /** For tests and tools that inspect what was stored. */
  database: Database
  url: string
  port: number
  /** Graceful: stop serving, then close MongoDB, Redis and the embedded server. */
  stop(): Promise<void>
}

function defaultWebDist(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url))
  // dist/main.js and src/server.ts both sit two levels below apps/.
  const dist = path.resolve(here, '../../web/dist')
  return existsSync(path.join(dist, 'index.html')) ? dist : undefined
}

export function limitsFromEnv(env: Env): ApiLimits {
  return {
    sendPerWindow: env.SEND_RATE_LIMIT,
    sendWindowMs: env.SEND_RATE_WINDOW_MS,
    reactPerWindow: env.REACT_RATE_LIMIT,
    reactWindowMs: env.REACT_RATE_WINDOW_MS,
    roomActionsPerWindow: env.ROOM_ACTION_RATE_LIMIT,
    roomActionsWindowMs: env.ROOM_ACTION_RATE_WINDOW_MS,
    searchPerWindow: env.SEARCH_RATE_LIMIT,
    searchWindowMs: env.SEARCH_RATE_WINDOW_MS,
    profilePerWindow: env.PROFILE_RATE_LIMIT,
    profileWindowMs: env.PROFILE_RATE_WINDOW_MS,
    registerPerIp: env.REGISTER_RATE_LIMIT_IP,
    registerWindowMs: env.REGISTER_RATE_WINDOW_MS,
    membersListMax: env.MEMBERS_LIST_MAX,
    loginPerUser: env.LOGIN_RATE_LIMIT_USER,
    loginPerIp: env.LOGIN_RATE_LIMIT_IP,
    loginWindowMs: env.LOGIN_RATE_WINDOW_MS,
    resumeMaxEvents: env.RESUME_MAX_EVENTS,
    replayBufferEvents: env.ROOM_REPLAY_BUFFER,
    streamMaxQueued: env.STREAM_MAX_QUEUED,
    gapWaitMs: env.ROOM_GAP_WAIT_MS,
    typingMs: env.TYPING_MS,
    typingPerWindow: env.TYPING_RATE_LIMIT,
    typingWindowMs: env.TYPING_RATE_WINDOW_MS,
    membershipCacheMs: env.MEMBERSHIP_CACHE_MS,
    membershipCacheMaxEntries: env.MEMBERSHIP_CACHE_MAX_ENTRIES,
    userStreamLoads: env.USER_STREAM_LOADS,
    presenceRoomMaxMembers: env.PRESENCE_ROOM_MAX_MEMBERS,
  }
}

export async function startServer(env: Env, log: Logger): Promise<RunningServer> {
  let embedded: Awaited<ReturnType<typeof startEmbeddedMongo>> | null = null
  let mongoUrl = env.MONGODB_URL
  if (!mongoUrl) {
    embedded = await startEmbeddedMongo({ port: 0, dataDir: env.NODE_ENV === 'test' ? undefined : path.resolve(env.DATA_DIR) })
    mongoUrl = `${embedded.url}/parley`
    log.info({ dataDir: env.NODE_ENV === 'test' ? null : path.resolve(env.DATA_DIR) }, 'storage: embedded MongoDB-wire server (development only; set MONGODB_URL in production)')
  } else {
    log.info('storage: MongoDB at MONGODB_URL')
  }
  const bus = createBus({
    redisUrl: env.REDIS_URL,
    nodeId: env.NODE_ID,
    logger: log,
    timings: {
      resyncIntervalMs: env.BUS_RESYNC_INTERVAL_MS,
      heartbeatMs: env.BUS_HEARTBEAT_MS,
      presenceTtlMs: env.PRESENCE_TTL_MS,
      subscribeTimeoutMs: env.BUS_SUBSCRIBE_TIMEOUT_MS,
      commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    },
  })
  const metrics = createMetrics(bus, env.NODE_ID)
  const database = await connectDatabase({ url: mongoUrl, maxPoolSize: env.MONGODB_MAX_POOL_SIZE, connectTimeoutMs: env.MONGODB_CONNECT_TIMEOUT_MS, unreadCountLimit: env.UNREAD_COUNT_LIMIT, unreadCacheEvents: env.UNREAD_CACHE_EVENTS, lookupWindowMs: env.LOOKUP_BATCH_WINDOW_MS, onOperation: metrics.mongoOperation }).catch(async (err: unknown) => {
    await bus.close()
    await embedded?.stop()
    throw err
  })
  log.info(env.REDIS_URL ? 'bus: Redis pub/sub' : 'bus: in-process (single node)')
  const limits = limitsFromEnv(env)
  // Allowed (a stream cut off resumes, and gets further each time), but a
  // resume that far behind is handed more at once than the stream may hold.
  if (env.STREAM_MAX_QUEUED < env.RESUME_MAX_EVENTS) {
    log.warn(
      { streamMaxQueued: env.STREAM_MAX_QUEUED, resumeMaxEvents: env.RESUME_MAX_EVENTS },
      'STREAM_MAX_QUEUED is below RESUME_MAX_EVENTS: an HTTP stream resuming that far behind is cut off with TIMEOUT and must resume several times (docs/operations.md)',
    )
  }
  const https = env.PUBLIC_ORIGIN.some((o) => o.startsWith('https:'))
  const auth = createAuth({
    database,
    bus,
    secureCookies: https,
    hash: { memoryCost: env.ARGON2_MEMORY_KIB, timeCost: env.ARGON2_TIME_COST, parallelism: 1 },
    maxConcurrentHashes: env.MAX_CONCURRENT_HASHES,
    maxQueuedHashes: env.MAX_QUEUED_HASHES,
    idleTimeoutMs: env.SESSION_IDLE_DAYS * 86_400_000,
    absoluteTimeoutMs: env.SESSION_ABSOLUTE_DAYS * 86_400_000,
    loginLimits: { perUser: limits.loginPerUser, perIp: limits.loginPerIp, windowMs: limits.loginWindowMs },
    log,
  })
  const { maxConnections } = connectionLimits(env, log)
  const allowedOrigins = [...env.PUBLIC_ORIGIN, ...(env.NODE_ENV === 'development' ? [env.DEV_ORIGIN] : [])]
  const app = createApp({
    database,
    bus,
    auth,
    limits,
    nodeId: env.NODE_ID,
    version: VERSION,
    trustProxy: env.TRUST_PROXY,
    log,
    metrics,
    config: {
      allowedOrigins,
      https,
      httpMaxBodyBytes: env.HTTP_MAX_BODY_BYTES,
      httpMaxBatch: env.HTTP_MAX_BATCH,
      httpCompressMinBytes: env.HTTP_COMPRESS_MIN_BYTES,
      wsMaxPayloadBytes: env.WS_MAX_PAYLOAD_BYTES,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      webDist: env.WEB_DIST ?? defaultWebDist(),
      httpHeadersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
      httpRequestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      httpKeepAliveTimeoutMs: env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      wsPingMs: env.WS_PING_MS,
      wsPongWaitMs: env.WS_PONG_WAIT_MS,
      wsMaxSubscriptions: env.WS_MAX_SUBSCRIPTIONS,
      listenBacklog: env.LISTEN_BACKLOG,
      maxConnections,
      ws: {
        maxPerIp: env.WS_MAX_PER_IP,
        maxPerUser: env.WS_MAX_PER_USER,
        ratePerWindow: env.WS_RATE_LIMIT,
        rateWindowMs: env.WS_RATE_WINDOW_MS,
        maxBatch: env.WS_MAX_BATCH,
        maxBufferedBytes: env.WS_MAX_BUFFERED_BYTES,
        slowConsumerMs: env.WS_SLOW_CONSUMER_MS,
        handshakeTimeoutMs: env.WS_HANDSHAKE_TIMEOUT_MS,
      },
    },
  })
  const { port, url } = await app.listen(env.PORT, env.HOST)
  return {
    app,
    database,
    url,
    port,
    async stop() {
      await app.close()
      // Each close is attempted even if an earlier one fails; the first failure is reported.
      const results = await Promise.allSettled([bus.close(), database.close()])
      await embedded?.stop()
      const failed = results.find((r) => r.status === 'rejected')
      if (failed) throw failed.reason
    },
  }
}
