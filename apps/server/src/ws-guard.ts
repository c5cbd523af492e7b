/**
 * Abuse limits for WebSocket connections, enforced in front of tRPC's handler:
 *
 * - connections per client IP (checked before the upgrade: 429) and per user
 *   (checked once the connection's session is known: close 1008);
 * - requests per connection per window (each element of a batch counts) and
 *   requests per batch frame: close 1008;
 * - a socket opened with `?connectionParams=1` that never sends them: close 1008;
 * - a slow consumer (send buffer above the limit for too long): terminated, so
 *   one client that stops reading cannot grow the server's memory.
 *
 * Frame size is bounded by the `ws` server's own `maxPayload` (close 1009).
 *
 * Incoming messages are gated by wrapping the socket's `emit`: a frame over a
 * limit never reaches tRPC (or any other listener), and nothing after it does.
 * Nor does any frame once the socket is closing, whoever closed it (a limit,
 * a revoked session, shutdown): `ws` keeps delivering frames for up to 30 s
 * while it waits for the peer's close frame, and tRPC would run them.
 */
import type { Duplex } from 'node:stream'
import { randomUUID } from 'node:crypto'
import { WebSocket } from 'ws'
import { closeThenCut } from '@parley/api'

export const CLOSE_POLICY = 1008
export const CLOSE_TOO_BIG = 1009

export interface WsGuardConfig {
  maxPerIp: number
  maxPerUser: number
  ratePerWindow: number
  rateWindowMs: number
  maxBatch: number
  maxBufferedBytes: number
  slowConsumerMs: number
  handshakeTimeoutMs: number
}

/** What createApp enforces where its config leaves a limit out, and the WS_* variables' defaults (env.ts). */
export const DEFAULT_WS_GUARD: WsGuardConfig = {
  maxPerIp: 50,
  maxPerUser: 20,
  ratePerWindow: 200,
  rateWindowMs: 10_000,
  maxBatch: 50,
  maxBufferedBytes: 4 * 1024 * 1024,
  slowConsumerMs: 5_000,
  handshakeTimeoutMs: 10_000,
}

export type WsLimit = 'ws_rate' | 'ws_batch' | 'ws_per_ip' | 'ws_per_user' | 'ws_slow_consumer' | 'ws_handshake'

export interface WsGuardHooks {
  /** A limit was enforced on a connection (or an upgrade). */
  onLimit?(limit: WsLimit, info: { connId?: string; ip: string; userId?: string }): void
}

export interface GuardedConnection {
  readonly id: string
  readonly ip: string
  readonly openedAt: number
  userId: string | null
  /** Why the guard closed it, if it did. */
  closedFor: WsLimit | null
}

interface ConnState extends GuardedConnection {
  ws: WebSocket
  windowStart: number
  count: number
  /** When the send buffer went over the limit (null: under it). */
  overSince: number | null
  handshakeTimer: NodeJS.Timeout | null
}

/** How many requests a text frame carries: the length of a JSON array, else 1. */
export function requestsInFrame(data: unknown, isBinary: boolean): number {
  if (isBinary) return 1
  const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data as Buffer[]).toString('utf8') : String(data)
  const start = text.search(/\S/)
  if (start < 0 || text[start] !== '[') return 1
  try {
    const parsed: unknown = JSON.parse(text)
    return Array.isArray(parsed) ? Math.max(1, parsed.length) : 1
  } catch {
    return 1
  }
}

export function createWsGuard(config: WsGuardConfig, hooks: WsGuardHooks = {}) {
  const perIp = new Map<string, number>()
  const perUser = new Map<string, number>()
  const live = new Set<ConnState>()
  const byWs = new WeakMap<WebSocket, ConnState>()

  const dec = (map: Map<string, number>, key: string) => {
    const n = (map.get(key) ?? 1) - 1
    if (n <= 0) map.delete(key)
    else map.set(key, n)
  }

  function enforce(st: ConnState, limit: WsLimit, reason: string): void {
    if (st.closedFor) return
    st.closedFor = limit
    hooks.onLimit?.(limit, { connId: st.id, ip: st.ip, userId: st.userId ?? undefined })
    if (limit === 'ws_slow_consumer') {
      // Its buffer is full: a close frame would queue behind it. Cut it.
      st.ws.terminate()
      return
    }
    closeThenCut(st.ws, CLOSE_POLICY, reason)
  }

  /** false while a frame must not reach tRPC. */
  function admitFrame(st: ConnState, data: unknown, isBinary: boolean): boolean {
    if (st.closedFor || st.ws.readyState !== WebSocket.OPEN) return false
    if (st.handshakeTimer) {
      clearTimeout(st.handshakeTimer)
      st.handshakeTimer = null
    }
    const n = requestsInFrame(data, isBinary)
    if (n > config.maxBatch) {
      enforce(st, 'ws_batch', `batch too large (at most ${config.maxBatch} requests per frame)`)
      return false
    }
    const now = Date.now()
    if (now - st.windowStart >= config.rateWindowMs) {
      st.windowStart = now
      st.count = 0
    }
    st.count += n
    if (st.count > config.ratePerWindow) {
      enforce(st, 'ws_rate', `too many requests (at most ${config.ratePerWindow} per ${config.rateWindowMs} ms)`)
      return false
    }
    return true
  }

  return {
    /**
     * Before the upgrade: reserve a slot for this IP, or say why not. The slot
     * is released when the raw socket closes (whether or not the upgrade completes).
     */
    reserve(ip: string, socket: Duplex): 'ok' | 'per_ip' {
      const n = perIp.get(ip) ?? 0
      if (n >= config.maxPerIp) {
        hooks.onLimit?.('ws_per_ip', { ip })
        return 'per_ip'
      }
      perIp.set(ip, n + 1)
      socket.once('close', () => dec(perIp, ip))
      return 'ok'
    },

    /** After the upgrade, before tRPC sees the socket. */
    attach(ws: WebSocket, ip: string, url: string | undefined): GuardedConnection {
      const st: ConnState = {
        id: randomUUID(),
        ip,
        openedAt: Date.now(),
        userId: null,
        closedFor: null,
        ws,
        windowStart: Date.now(),
        count: 0,
        overSince: null,
        handshakeTimer: null,
      }
      live.add(st)
      byWs.set(ws, st)
      const emit = ws.emit.bind(ws) as (event: string | symbol, ...args: unknown[]) => boolean
      ws.emit = ((event: string | symbol, ...args: unknown[]) => {
        if (event === 'message' && !admitFrame(st, args[0], args[1] === true)) return false
        return emit(event, ...args)
      }) as typeof ws.emit
      if (url && new URL(url, 'http://x').searchParams.get('connectionParams') === '1') {
        st.handshakeTimer = setTimeout(() => enforce(st, 'ws_handshake', 'connection params not sent in time'), config.handshakeTimeoutMs)
        st.handshakeTimer.unref()
      }
      ws.once('close', () => {
        live.delete(st)
        if (st.handshakeTimer) clearTimeout(st.handshakeTimer)
        if (st.userId) dec(perUser, st.userId)
      })
      return st
    },

    connection(ws: WebSocket): GuardedConnection | undefined {
      return byWs.get(ws)
    },

    /**
     * The connection's user is known (its context was built). Past the per-user
     * limit the socket is closed 1008; returns false then, and for a socket that
     * closed while its session was being read (its close released nothing, so
     * counting it now would hold the slot for good).
     */
    identify(ws: WebSocket, userId: string): boolean {
      const st = byWs.get(ws)
      if (st && !live.has(st)) return false // its close event already ran
      if (!st || st.userId || st.closedFor) return !st?.closedFor
      const n = perUser.get(userId) ?? 0
      st.userId = userId
      if (n >= config.maxPerUser) {
        st.userId = null
        enforce(st, 'ws_per_user', `too many connections for this user (at most ${config.maxPerUser})`)
        return false
      }
      perUser.set(userId, n + 1)
      return true
    },

    /** Terminates sockets whose send buffer has stayed above the limit for too long. Run periodically. */
    sweep(now = Date.now()): void {
      for (const st of live) {
        if (st.ws.bufferedAmount > config.maxBufferedBytes) {
          if (st.overSince === null) st.overSince = now
          else if (now - st.overSince >= config.slowConsumerMs) enforce(st, 'ws_slow_consumer', 'slow consumer')
        } else {
          st.overSince = null
        }
      }
    },

    stats() {
      return { connections: live.size, ips: perIp.size, users: perUser.size }
    },
  }
}
export type WsGuard = ReturnType<typeof createWsGuard>
