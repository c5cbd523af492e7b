/**
 * The only place that reads the environment. Validated once at start-up: a
 * bad value stops the process with one line naming the variable.
 * Every limit has a safe default and a line in docs/operations.md. A default
 * that a package also applies (its components run without this file: tests,
 * the bench's harnesses) is that package's constant, so the two cannot differ.
 */
import os from 'node:os'
import { z } from 'zod'
import { DEFAULT_LIMITS as api } from '@parley/api'
import { AUTH_DEFAULTS as auth, OWASP_MIN_PARAMS } from '@parley/auth'
import { REDIS_BUS_DEFAULTS as bus } from '@parley/bus'
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_LOOKUP_WINDOW_MS, DEFAULT_MAX_POOL_SIZE, DEFAULT_UNREAD_CACHE_EVENTS, DEFAULT_UNREAD_COUNT_LIMIT } from '@parley/db'
import { DEFAULT_WS_GUARD as ws } from './ws-guard.ts'

/** Node fires a timer set past 2^31 − 1 ms after 1 ms: no limit may go beyond it. */
const INT_MAX = 2 ** 31 - 1
const int = (def: number, min = 0) => z.coerce.number().int().min(min).max(INT_MAX).default(def)
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  MONGODB_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://').optional(),
  /** Connections per node to MongoDB (overrides a maxPoolSize in MONGODB_URL). */
  MONGODB_MAX_POOL_SIZE: int(DEFAULT_MAX_POOL_SIZE, 1),
  MONGODB_CONNECT_TIMEOUT_MS: int(DEFAULT_CONNECT_TIMEOUT_MS, 100),
  DATA_DIR: z.string().min(1).default('./.data'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  // The Redis bus (packages/bus/src/redis-bus.ts)
  BUS_RESYNC_INTERVAL_MS: int(bus.resyncIntervalMs, 1000),
  BUS_HEARTBEAT_MS: int(bus.heartbeatMs, 50),
  PRESENCE_TTL_MS: int(bus.presenceTtlMs, 500),
  BUS_SUBSCRIBE_TIMEOUT_MS: int(bus.subscribeTimeoutMs, 100),
  REDIS_COMMAND_TIMEOUT_MS: int(bus.commandTimeoutMs, 50),
  NODE_ID: z.string().min(1).max(64).default(os.hostname()),
  PUBLIC_ORIGIN: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(z.url({ protocol: /^https?$/ }))),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WEB_DIST: z.string().optional(),
  /** Set by `pnpm dev`: the Vite dev server origin allowed to call the API. */
  DEV_ORIGIN: z.url({ protocol: /^https?$/ }).default('http://localhost:5173'),
  TRUST_PROXY: bool(false),

  // API limits
  SEND_RATE_LIMIT: int(api.sendPerWindow, 1),
  SEND_RATE_WINDOW_MS: int(api.sendWindowMs, 1),
  REACT_RATE_LIMIT: int(api.reactPerWindow, 1),
  REACT_RATE_WINDOW_MS: int(api.reactWindowMs, 1),
  ROOM_ACTION_RATE_LIMIT: int(api.roomActionsPerWindow, 1),
  ROOM_ACTION_RATE_WINDOW_MS: int(api.roomActionsWindowMs, 1),
  SEARCH_RATE_LIMIT: int(api.searchPerWindow, 1),
  SEARCH_RATE_WINDOW_MS: int(api.searchWindowMs, 1),
  PROFILE_RATE_LIMIT: int(api.profilePerWindow, 1),
  PROFILE_RATE_WINDOW_MS: int(api.profileWindowMs, 1),
  REGISTER_RATE_LIMIT_IP: int(api.registerPerIp, 1),
  REGISTER_RATE_WINDOW_MS: int(api.registerWindowMs, 1),
  MEMBERS_LIST_MAX: int(api.membersListMax, 1),
  LOGIN_RATE_LIMIT_USER: int(api.loginPerUser, 1),
  LOGIN_RATE_LIMIT_IP: int(api.loginPerIp, 1),
  LOGIN_RATE_WINDOW_MS: int(api.loginWindowMs, 1),
  RESUME_MAX_EVENTS: int(api.resumeMaxEvents, 1),
  ROOM_REPLAY_BUFFER: int(api.replayBufferEvents, 0),
  STREAM_MAX_QUEUED: int(api.streamMaxQueued, 1),
  ROOM_GAP_WAIT_MS: int(api.gapWaitMs, 0),
  TYPING_MS: int(api.typingMs, 100),
  TYPING_RATE_LIMIT: int(api.typingPerWindow, 1),
  TYPING_RATE_WINDOW_MS: int(api.typingWindowMs, 1),
  MEMBERSHIP_CACHE_MS: int(api.membershipCacheMs, 0),
  MEMBERSHIP_CACHE_MAX_ENTRIES: int(api.membershipCacheMaxEntries, 1),
  USER_STREAM_LOADS: int(api.userStreamLoads, 1),
  /** Unread counts stop here: a count of this or more means at least this many (the app shows 99+). */
  UNREAD_COUNT_LIMIT: int(DEFAULT_UNREAD_COUNT_LIMIT, 100),
  /** Events of rooms' logs a node keeps so that the next unread counts read only what is new (~8 bytes each; 0 keeps none). */
  UNREAD_CACHE_EVENTS: int(DEFAULT_UNREAD_CACHE_EVENTS, 0),
  /** After a lookup's query was shared by several callers (a crowd: session, user, room, memberships, unread counts), how long the next of its kind waits for others to share it; a lone lookup waits at most 5 ms, an idle one not at all. */
  LOOKUP_BATCH_WINDOW_MS: int(DEFAULT_LOOKUP_WINDOW_MS, 0).pipe(z.number().max(1000)),
  PRESENCE_ROOM_MAX_MEMBERS: int(api.presenceRoomMaxMembers, 2),
  ARGON2_MEMORY_KIB: int(OWASP_MIN_PARAMS.memoryCost, 1024),
  ARGON2_TIME_COST: int(OWASP_MIN_PARAMS.timeCost, 1),
  MAX_CONCURRENT_HASHES: int(auth.maxConcurrentHashes, 1),
  /** Logins and sign-ups waiting for a hashing slot; beyond this they get "server busy" at once. */
  MAX_QUEUED_HASHES: int(auth.maxQueuedHashes, 1),
  SESSION_IDLE_DAYS: int(auth.idleTimeoutDays, 1),
  SESSION_ABSOLUTE_DAYS: int(auth.absoluteTimeoutDays, 1),

  // Transport limits
  HTTP_MAX_BODY_BYTES: int(256 * 1024, 1024),
  /** Calls in one HTTP batch request; over → 400 and none of them runs (as WS_MAX_BATCH for a WebSocket frame). */
  HTTP_MAX_BATCH: int(50, 1),
  /** tRPC results over HTTP at least this large go out compressed (when the client accepts it); smaller ones as they are. */
  HTTP_COMPRESS_MIN_BYTES: int(1024, 0),
  WS_MAX_PAYLOAD_BYTES: int(64 * 1024, 1024),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 100),
  /** Slowloris: a request's headers must arrive within this, the whole request within REQUEST_TIMEOUT. */
  HTTP_HEADERS_TIMEOUT_MS: int(10_000, 100),
  HTTP_REQUEST_TIMEOUT_MS: int(30_000, 100),
  /**
   * How long an idle HTTP connection waits for the client's next request. A
   * chat user pauses between sends far longer than Node's 5 s, and a send on
   * a closed connection pays a new handshake first (one round trip, two or
   * three with TLS). Above the 60 s idle of common proxies (nginx's upstream
   * keepalive_timeout, AWS ALB), so the proxy closes first and never sends on
   * a connection the node is closing.
   */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(65_000, 100),
  /** Requests (array elements count one each) per WebSocket per window; over → close 1008. */
  WS_RATE_LIMIT: int(ws.ratePerWindow, 1),
  WS_RATE_WINDOW_MS: int(ws.rateWindowMs, 100),
  /** Requests in one WebSocket batch frame; over → close 1008. */
  WS_MAX_BATCH: int(ws.maxBatch, 1),
  /** Live subscriptions per WebSocket; the next one gets TOO_MANY_REQUESTS. */
  WS_MAX_SUBSCRIPTIONS: int(100, 1),
  /** Open WebSockets per client IP (upgrade refused 429) and per user (close 1008). */
  WS_MAX_PER_IP: int(ws.maxPerIp, 1),
  WS_MAX_PER_USER: int(ws.maxPerUser, 1),
  /** Slow consumer: a socket whose send buffer stays above WS_MAX_BUFFERED_BYTES for WS_SLOW_CONSUMER_MS is terminated. */
  WS_MAX_BUFFERED_BYTES: int(ws.maxBufferedBytes, 1024),
  WS_SLOW_CONSUMER_MS: int(ws.slowConsumerMs, 100),
  /** A socket opened with ?connectionParams=1 must send them within this. */
  WS_HANDSHAKE_TIMEOUT_MS: int(ws.handshakeTimeoutMs, 100),
  /** Keep-alive: ping a quiet socket after WS_PING_MS, drop it if nothing comes back within WS_PONG_WAIT_MS. */
  WS_PING_MS: int(30_000, 100),
  WS_PONG_WAIT_MS: int(5_000, 100),
  /**
   * Pending connections the kernel queues before accept (capped by
   * net.core.somaxconn). Node's 511 overflows when a dead node's clients all
   * reconnect here at once, and a dropped attempt is retried by the client's
   * TCP stack only after 1, 3, 7, 15… s (docs/performance.md).
   */
  LISTEN_BACKLOG: int(4096, 1),
  /** Client connections (HTTP and WebSocket) a node holds at once; unset: its open-file limit less a reserve (connection-limits.ts). 0: no cap. */
  MAX_CONNECTIONS: z.coerce.number().int().min(0).max(INT_MAX).optional(),
}).refine((env) => env.PRESENCE_TTL_MS > 2 * env.BUS_HEARTBEAT_MS, {
  // Each heartbeat pushes a node's users' presence forward: a shorter TTL would let live users expire between two.
  path: ['PRESENCE_TTL_MS'],
  message: 'must be more than twice BUS_HEARTBEAT_MS',
})

export type Env = z.infer<typeof EnvSchema>

/** Every variable a node reads (docs/operations.md has a row for each). */
export const ENV_VARIABLES = Object.keys(EnvSchema.shape) as (keyof Env)[]

export class EnvError extends Error {}

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  // Blank values count as unset, so `FOO= pnpm start` means "default" (and `PORT=" "` is not port 0).
  const cleaned = Object.fromEntries(Object.entries(source).flatMap(([k, v]) => (v?.trim() ? [[k, v.trim()]] : [])))
  const parsed = EnvSchema.safeParse(cleaned)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]!
  const name = String(issue.path[0])
  // A connection string's credentials stay out of the message (it goes to the logs).
  const shown = String(source[name]).replace(/^([^:/]*:\/*)[^@]*@/, '$1***@')
  throw new EnvError(`Invalid environment variable ${name}=${JSON.stringify(shown)}: ${issue.message}`)
}
