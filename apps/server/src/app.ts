/**
 * createApp(deps): the HTTP + WebSocket server on one port — tRPC at /trpc
 * (both transports), /healthz, /readyz, /metrics, and the built PWA.
 * It opens no connections of its own: main.ts (or a test) passes them in.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { WebSocketServer, type WebSocket } from 'ws'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import { applyWSSHandler } from '@trpc/server/adapters/ws'
import { TRPCError } from '@trpc/server'
import { getHTTPStatusCodeFromError } from '@trpc/server/http'
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc'
import { appRouter, clientIp, createContextFactory, ipLimitKey, createMembershipCache, createRoomHub, createStreamGateway, createUserHub, type ApiDeps, type Context, type CreateContextOptions } from '@parley/api'
import type { Logger } from 'pino'
import { createMetrics, type Metrics } from './metrics.ts'
import { createOriginPolicy } from './origin.ts'
import { applySecurityHeaders } from './security-headers.ts'
import { compressWhenLarge } from './content-coding.ts'
import { createStaticHandler } from './static.ts'
import { CLOSE_TOO_BIG, createWsGuard, DEFAULT_WS_GUARD, type WsGuardConfig } from './ws-guard.ts'

export interface AppConfig {
  allowedOrigins: string[]
  https: boolean
  httpMaxBodyBytes: number
  /** Calls in one HTTP batch request (HTTP_MAX_BATCH): a larger batch is answered 400 and none of it runs. */
  httpMaxBatch: number
  /** tRPC results over HTTP this large or larger are compressed for clients that accept it. */
  httpCompressMinBytes: number
  wsMaxPayloadBytes: number
  shutdownTimeoutMs: number
  /** Built PWA to serve; omitted → API only. */
  webDist?: string
  // Defaults and the reasons for them are in env.ts, the one place they are set.
  /** Slowloris guards and idle keep-alive (Node's http server timeouts). */
  httpHeadersTimeoutMs: number
  httpRequestTimeoutMs: number
  httpKeepAliveTimeoutMs: number
  /** WebSocket keep-alive: ping after this much quiet, drop if nothing comes back in pongWaitMs. */
  wsPingMs: number
  wsPongWaitMs: number
  /** Live subscriptions per WebSocket (TOO_MANY_REQUESTS past it). */
  wsMaxSubscriptions: number
  /** Kernel accept queue length (LISTEN_BACKLOG; its default and why are in env.ts). */
  listenBacklog: number
  /** Client connections (HTTP and WebSocket) held at once; past it new ones are closed at once (MAX_CONNECTIONS, connection-limits.ts). 0: no cap. */
  maxConnections: number
  /** Per-connection/IP/user WebSocket limits (see ws-guard.ts). */
  ws?: Partial<WsGuardConfig>
}

export interface AppDeps extends Omit<ApiDeps, 'log' | 'metrics' | 'inflight' | 'maxSubscriptionsPerConnection' | 'membership' | 'roomHub' | 'userHub'> {
  log: Logger
  config: AppConfig
  /** Created by the caller when it needs them before the app (MongoDB command timings); else here. */
  metrics?: Metrics
}

export interface App {
  server: http.Server
  wss: WebSocketServer
  metrics: Metrics
  listen(port: number, host?: string): Promise<{ port: number; url: string }>
  /**
   * Graceful stop: /readyz 503 and no new connections at once, WS clients told
   * to reconnect elsewhere, running queries/mutations finish, sockets close.
   * Bounded by config.shutdownTimeoutMs.
   */
  close(): Promise<void>
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
/** Probes and scrapes are logged at debug, so they do not drown the request log. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics'])

export function createApp(deps: AppDeps): App {
  const { log, config } = deps
  const metrics = deps.metrics ?? createMetrics(deps.bus, deps.nodeId)
  const guardConfig: WsGuardConfig = { ...DEFAULT_WS_GUARD, ...config.ws }
  const guard = createWsGuard(guardConfig, {
    onLimit(limit, info) {
      metrics.limitHits.inc({ limit })
      log.warn({ limit, connId: info.connId, ip: info.ip, userId: info.userId }, 'ws limit enforced')
    },
  })

  // Queries and mutations running now (both transports): shutdown waits for them.
  let inflight = 0
  let activeHttp = 0
  const membership = createMembershipCache(deps.limits.membershipCacheMs, deps.bus, deps.limits.membershipCacheMaxEntries)
  const roomHub = createRoomHub({
    database: deps.database,
    bus: deps.bus,
    metrics: metrics.api,
    resumeMaxEvents: deps.limits.resumeMaxEvents,
    replayBufferEvents: deps.limits.replayBufferEvents,
    gapWaitMs: deps.limits.gapWaitMs,
  })
  const userHub = createUserHub({
    database: deps.database,
    bus: deps.bus,
    loadConcurrency: deps.limits.userStreamLoads,
    presenceRoomMaxMembers: deps.limits.presenceRoomMaxMembers,
    metrics: metrics.api,
  })
  const apiDeps: ApiDeps = {
    ...deps,
    membership,
    roomHub,
    userHub,
    log,
    metrics: metrics.api,
    maxSubscriptionsPerConnection: config.wsMaxSubscriptions,
    inflight: {
      begin() {
        inflight++
        let done = false
        return () => {
          if (done) return
          done = true
          inflight--
        }
      },
    },
  }
  const baseCreateContext = createContextFactory(apiDeps)
  /** Who made an HTTP request (for its log line), once the session is known. */
  const requestUser = new WeakMap<IncomingMessage, string>()
  /** Each WebSocket's context, for the stream gateway (tRPC creates it, once per connection). */
  const wsContexts = new WeakMap<WebSocket, Promise<Context>>()
  function createContext(opts: CreateContextOptions): Promise<Context> {
    const pending = baseCreateContext(opts).then((ctx) => {
      const userId = ctx.session?.user._id.toHexString()
      if (userId) {
        if (ctx.transport === 'ws') guard.identify(opts.res as WebSocket, userId)
        else requestUser.set(opts.req, userId)
      }
      return ctx
    })
    if (!('writeHead' in opts.res)) wsContexts.set(opts.res, pending)
    return pending
  }
  const streams = createStreamGateway({
    contextOf: (ws) => wsContexts.get(ws),
    onInternalError: (err, path) => log.error({ err, path }, 'procedure failed'),
  })

  const origins = createOriginPolicy(config.allowedOrigins)
  const serveStatic = config.webDist ? createStaticHandler(config.webDist) : null
  let shuttingDown = false
  const requestIds = new WeakMap<IncomingMessage, string>()

  const trpcHttp = createHTTPHandler({
    router: appRouter,
    createContext,
    basePath: '/trpc/',
    maxBodySize: config.httpMaxBodyBytes,
    maxBatchSize: config.httpMaxBatch,
    onError({ error, path, req }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') log.error({ err: error.cause ?? error, path, reqId: requestIds.get(req) }, 'procedure failed')
    },
  })

  async function readiness(): Promise<{ ok: boolean; down: Record<string, string> }> {
    const down: Record<string, string> = {}
    if (shuttingDown) return { ok: false, down: { server: 'shutting down' } }
    if (!(await deps.database.ping())) down.mongodb = 'not answering'
    const bus = deps.bus.health()
    if (!bus.ok) down.redis = bus.detail ?? 'not connected'
    // The probe's own connection counts: at the cap the next client would be turned away, so a load balancer should send it elsewhere.
    const open = await openConnections()
    if (config.maxConnections > 0 && open >= config.maxConnections) down.connections = `full: ${open} of MAX_CONNECTIONS (${config.maxConnections})`
    return { ok: Object.keys(down).length === 0, down }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    applySecurityHeaders(res, config.https)
    // CORS stays closed: no Access-Control-Allow-* header is ever sent, and a preflight gets nothing to allow.
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', 'GET, HEAD, POST')
      return sendJson(res, 405, { error: 'Method not allowed' })
    }
    if (url.pathname === '/trpc' || url.pathname.startsWith('/trpc/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        const refusal = origins.rejectsMutation(req)
        if (refusal) {
          // tRPC's error shape and status for the code, so a client reports it as any other refusal.
          const httpStatus = getHTTPStatusCodeFromError(new TRPCError({ code: refusal.code }))
          return sendJson(res, httpStatus, { error: { message: refusal.message, code: TRPC_ERROR_CODES_BY_KEY[refusal.code], data: { code: refusal.code, httpStatus } } })
        }
      }
      // A page of messages or the room list: several times smaller on a phone's slow link.
      compressWhenLarge(req, res, config.httpCompressMinBytes)
      // Answers are per user and of the moment. Stored, a back/forward load replays them from the HTTP cache:
      // the `auth.me` fetched before sign-up (null) sent a signed-in user to the sign-in form.
      res.setHeader('Cache-Control', 'no-store')
      return trpcHttp(req, res)
    }
    if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true, nodeId: deps.nodeId })
    if (url.pathname === '/readyz') {
      const r = await readiness()
      return sendJson(res, r.ok ? 200 : 503, { ok: r.ok, nodeId: deps.nodeId, down: r.down })
    }
    if (url.pathname === '/metrics') {
      res.setHeader('Content-Type', metrics.registry.contentType)
      res.setHeader('Cache-Control', 'no-store')
      metrics.clientConnections.set(await openConnections())
      res.end(await metrics.registry.metrics())
      return
    }
    if (serveStatic && (await serveStatic(req, res))) return
    sendJson(res, 404, { error: 'Not found' })
  }

  const headersTimeout = config.httpHeadersTimeoutMs
  const requestTimeout = Math.max(config.httpRequestTimeoutMs, headersTimeout)
  const server = http.createServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: config.httpKeepAliveTimeoutMs,
      // How often Node checks the two timeouts above (its default, 30 s, would let a slowloris linger).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      // A request arrived: the idle-connection timer below is done; Node's header/request/keep-alive timeouts take over.
      req.socket.setTimeout(0)
      const started = performance.now()
      const supplied = req.headers['x-request-id']
      const reqId = typeof supplied === 'string' && REQUEST_ID.test(supplied) ? supplied : randomUUID()
      requestIds.set(req, reqId)
      res.setHeader('X-Request-Id', reqId)
      if (shuttingDown) res.setHeader('Connection', 'close')
      const url = new URL(req.url ?? '/', 'http://localhost')
      activeHttp++
      res.once('close', () => {
        activeHttp--
        const status = res.writableFinished ? res.statusCode : 499
        metrics.httpRequests.inc({ status: `${Math.floor(status / 100)}xx` })
        const line = {
          reqId,
          method: req.method,
          path: url.pathname,
          status,
          ms: Math.round((performance.now() - started) * 10) / 10,
          userId: requestUser.get(req),
          ip: clientIp(req, deps.trustProxy),
        }
        if (QUIET_PATHS.has(url.pathname)) log.debug(line, 'http')
        else log.info(line, 'http')
      })
      handle(req, res, url).catch((err: unknown) => {
        log.error({ err, reqId }, 'request failed')
        if (!res.headersSent) sendJson(res, 500, { error: 'Internal server error' })
        else res.destroy()
      })
    },
  )

  // Node's headersTimeout starts with the first byte: a connection that sends nothing at all is dropped after the same time.
  server.on('connection', (socket) => socket.setTimeout(headersTimeout))
  /** Client connections (HTTP and WebSocket) open now: Node's own count, the one it holds against server.maxConnections. */
  const openConnections = () => new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))))

  // Below the open-file limit, so that the node keeps descriptors for MongoDB and Redis (connection-limits.ts).
  if (config.maxConnections > 0) server.maxConnections = config.maxConnections
  metrics.maxConnections.set(config.maxConnections)
  let lastDropLogged = 0
  server.on('drop', () => {
    metrics.limitHits.inc({ limit: 'connections' })
    const now = Date.now()
    if (now - lastDropLogged < 10_000) return
    lastDropLogged = now
    log.warn({ maxConnections: config.maxConnections }, 'connection refused: the node holds MAX_CONNECTIONS (parley_limit_hits_total{limit="connections"} counts them)')
  })

  const wss = new WebSocketServer({ noServer: true, maxPayload: config.wsMaxPayloadBytes, perMessageDeflate: false })
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    socket.on('error', () => socket.destroy())
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (path !== '/trpc') return refuseUpgrade(socket, 404, 'Not Found')
    if (shuttingDown) return refuseUpgrade(socket, 503, 'Service Unavailable', 'Retry-After: 1\r\n')
    if (!origins.allowsUpgrade(req)) return refuseUpgrade(socket, 403, 'Forbidden')
    const ip = clientIp(req, deps.trustProxy)
    if (guard.reserve(ipLimitKey(ip), socket) !== 'ok') return refuseUpgrade(socket, 429, 'Too Many Requests', 'Retry-After: 10\r\n')
    wss.handleUpgrade(req, socket, head, (ws) => {
      // The gateway first, so the guard (attached after it) sees every frame before it does.
      streams.attach(ws, socket)
      guard.attach(ws, ip, req.url)
      wss.emit('connection', ws, req)
    })
  })
  wss.on('connection', (ws: WebSocket) => {
    const conn = guard.connection(ws)
    const connId = conn?.id ?? randomUUID()
    metrics.connections.inc()
    metrics.wsOpened.inc()
    log.info({ connId, ip: conn?.ip }, 'ws open')
    ws.once('close', (code) => {
      metrics.connections.dec()
      if (code === CLOSE_TOO_BIG) metrics.limitHits.inc({ limit: 'ws_payload' })
      log.info(
        { connId, userId: conn?.userId ?? undefined, code, ms: conn ? Date.now() - conn.openedAt : undefined, limit: conn?.closedFor ?? undefined },
        'ws close',
      )
    })
  })
  const wssHandler = applyWSSHandler({
    wss,
    router: appRouter,
    createContext,
    keepAlive: { enabled: true, pingMs: config.wsPingMs, pongWaitMs: config.wsPongWaitMs },
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') log.error({ err: error.cause ?? error, path }, 'procedure failed')
    },
  })
  const sweep = setInterval(() => guard.sweep(), Math.max(100, Math.min(1000, Math.floor(guardConfig.slowConsumerMs / 4))))
  sweep.unref()

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
  async function waitFor(done: () => boolean, until: number): Promise<boolean> {
    while (!done() && Date.now() < until) await sleep(20)
    return done()
  }

  let closing: Promise<void> | null = null
  async function shutdown(): Promise<void> {
    shuttingDown = true
    const deadline = Date.now() + config.shutdownTimeoutMs
    // No new connections: stop listening, drop idle keep-alive sockets.
    server.close()
    server.closeIdleConnections()
    // Open sockets: tRPC's reconnect notification moves clients (to another node behind the balancer).
    wssHandler.broadcastReconnectNotification()
    // Running queries and mutations (HTTP and WS) finish and answer.
    const drained = await waitFor(() => inflight === 0 && activeHttp === 0, deadline)
    // Give clients a moment to move by themselves, then close what is left with "going away".
    await waitFor(() => wss.clients.size === 0, Math.min(deadline, Date.now() + 250))
    for (const ws of wss.clients) ws.close(1001, 'server shutting down')
    await waitFor(() => wss.clients.size === 0, deadline)
    for (const ws of wss.clients) ws.terminate()
    // Calls a socket started just before it closed still get to finish their writes.
    const settled = await waitFor(() => inflight === 0, deadline)
    clearInterval(sweep)
    roomHub.close()
    userHub.close()
    await membership.close()
    server.closeAllConnections()
    log.info({ drained: drained && settled, inflight, activeHttp }, 'http/ws closed')
  }

  return {
    server,
    wss,
    metrics,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen({ port, host, backlog: config.listenBacklog }, () => {
          const addr = server.address() as AddressInfo
          resolve({ port: addr.port, url: `http://127.0.0.1:${addr.port}` })
        })
      })
    },
    close() {
      closing ??= shutdown()
      return closing
    },
  }
}

function refuseUpgrade(socket: { end(data: string): void }, status: number, text: string, extra = ''): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`)
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json')
  res.setHeader('Cache-Control', 'no-store')
  res.end(JSON.stringify(body))
}
