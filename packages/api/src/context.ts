/**
 * The tRPC context: who is calling, over which transport, and the services
 * procedures use. Built per HTTP request, and once per WebSocket connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { WebSocket } from 'ws'
import type { Auth, AuthenticatedSession } from '@parley/auth'
import type { Bus } from '@parley/bus'
import type { Database } from '@parley/db'
import type { ApiLimits } from './limits.ts'
import type { RoomHub } from './live/room-hub.ts'
import type { UserHub } from './live/user-hub.ts'
import type { MembershipCache } from './membership-cache.ts'
import { closeThenCut } from './ws-close.ts'

export interface ApiLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** Optional hooks the server wires to Prometheus. */
export interface ApiMetrics {
  messageSent(): void
  eventDelivered(count: number): void
  fanoutLatency(seconds: number): void
  subscriptionOpened(): void
  subscriptionClosed(): void
  /** Any subscription (every procedure, counted by the tRPC middleware) started / ended. */
  subscriptionStarted?(path: string): void
  subscriptionEnded?(path: string): void
  /** A subscription refused because its connection holds too many. */
  subscriptionRefused?(): void
  /** events.user streams waiting for their user's rooms and unread counts (+1 / −1). */
  userStreamsStarting?(delta: number): void
}

/** Lets the server wait for running queries and mutations before it closes the database. */
export interface InflightTracker {
  /** Call when a query or mutation starts; call the returned function when it settles. */
  begin(): () => void
}

/** Per-WebSocket state, created once with the connection's context. */
export interface WsConnectionState {
  /** Live subscriptions on this socket (maintained by the tRPC middleware). */
  subscriptions: number
}

export interface ApiDeps {
  database: Database
  bus: Bus
  auth: Auth
  limits: ApiLimits
  /** Hot-path membership lookups (see membership-cache.ts). */
  membership: MembershipCache
  /** This node's fan-out of room events (one bus subscription per watched room). */
  roomHub: RoomHub
  /** This node's events.user streams (one bus subscription per followed room and per user). */
  userHub: UserHub
  nodeId: string
  version: string
  log: ApiLogger
  metrics?: ApiMetrics
  /** Behind one trusted load balancer: take the client IP from the last X-Forwarded-For entry (the one it appended). */
  trustProxy?: boolean
  /** Live subscriptions one WebSocket may hold; the next gets TOO_MANY_REQUESTS. Unset → unlimited. */
  maxSubscriptionsPerConnection?: number
  inflight?: InflightTracker
}

export interface CreateContextOptions {
  req: IncomingMessage
  /** ServerResponse over HTTP; the WebSocket over WS. */
  res: ServerResponse | WebSocket
  info: { connectionParams?: Record<string, string | undefined> | null }
}

export type Transport = 'http' | 'ws'

export interface Context {
  deps: ApiDeps
  transport: Transport
  req: IncomingMessage
  /** Only over HTTP: lets auth procedures set and clear the session cookie. */
  setCookie: ((cookie: string) => void) | null
  session: AuthenticatedSession | null
  ip: string
  /** Over WS only: state shared by every call on this socket. */
  conn: WsConnectionState | null
}

export function clientIp(req: IncomingMessage, trustProxy = false): string {
  // The entry our proxy appended is the last one; earlier entries come from the client and can be forged.
  const forwarded = trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',').at(-1)?.trim() : ''
  return forwarded || req.socket.remoteAddress || 'unknown'
}

const WS_OPEN = 1

/**
 * What per-address limits count by: the IPv4 address, or an IPv6 address's
 * /64 — one subscriber's network (2^64 addresses) counts as one client, as it
 * can pick a fresh address for every request.
 */
export function ipLimitKey(ip: string): string {
  const address = ip.split('%')[0]! // a zone id (fe80::1%eth0) is not part of it
  if (!address.includes(':')) return address
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  const groupsOf = (part: string) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : [])
  const [head = '', tail] = address.split('::')
  const left = groupsOf(head)
  const right = tail === undefined ? [] : groupsOf(tail)
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`
}

export function createContextFactory(deps: ApiDeps) {
  return async function createContext({ req, res, info }: CreateContextOptions): Promise<Context> {
    const transport: Transport = 'writeHead' in res ? 'http' : 'ws'
    const token = deps.auth.readToken(req.headers.cookie) ?? info.connectionParams?.token ?? null
    const session = token ? await deps.auth.validate(token) : null
    const ctx: Context = {
      deps,
      transport,
      req,
      setCookie:
        transport === 'http'
          ? (cookie) => {
              const r = res as ServerResponse
              const prev = r.getHeader('set-cookie')
              r.setHeader('set-cookie', [...(Array.isArray(prev) ? prev : prev ? [String(prev)] : []), cookie])
            }
          : null,
      session,
      ip: clientIp(req, deps.trustProxy),
      conn: transport === 'ws' ? { subscriptions: 0 } : null,
    }
    // A socket that closed while the session was being read has no close event left to stop a watcher with.
    if (transport === 'ws' && session && (res as WebSocket).readyState === WS_OPEN) watchSocketSession(deps, ctx, res as WebSocket, session)
    return ctx
  }
}

/**
 * A revoked session must not keep streaming or calling: the context loses its
 * session (protected procedures refuse), the socket is closed 4001 (the client
 * reconnects signed out) and cut if the peer does not answer the close soon.
 */
function watchSocketSession(deps: ApiDeps, ctx: Context, socket: WebSocket, session: AuthenticatedSession): void {
  const revoked = () => {
    ctx.session = null
    closeThenCut(socket, 4001, 'session revoked')
  }
  // Not awaited: while Redis is down the bus waits for its SUBSCRIBE to be confirmed,
  // and the connection should not stall on that (the watcher re-checks the database once attached).
  const watching = deps.auth.watchRevocation(session, revoked)
  watching.catch((err: unknown) => deps.log.warn({ err }, 'revocation watch failed'))
  socket.once('close', () => void watching.then((stop) => stop(), () => {}))
}
