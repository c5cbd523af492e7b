/**
 * createApp(deps): the HTTP + WebSocket server on one port — tRPC at /trpc
 * (both transports), /healthz, /readyz, /metrics, and the built PWA.
 * It opens no connections of its own: main.ts (or a test) passes them in.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { WebSocketServer } from 'ws'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import { applyWSSHandler } from '@trpc/server/adapters/ws'
import { appRouter, createContextFactory, type ApiDeps } from '@parley/api'
import type { Logger } from 'pino'
import { createMetrics } from './metrics.ts'
import { createOriginPolicy } from './origin.ts'
import { applySecurityHeaders } from './security-headers.ts'
import { createStaticHandler } from './static.ts'

export interface AppConfig {
  allowedOrigins: string[]
  https: boolean
  httpMaxBodyBytes: number
  wsMaxPayloadBytes: number
  shutdownTimeoutMs: number
  /** Built PWA to serve; omitted → API only. */
  webDist?: string
}

export interface AppDeps extends Omit<ApiDeps, 'log' | 'metrics'> {
  log: Logger
  config: AppConfig
}

export interface App {
  server: http.Server
  wss: WebSocketServer
  listen(port: number, host?: string): Promise<{ port: number; url: string }>
  /** Graceful stop: not ready, tell WS clients to reconnect elsewhere, close sockets, wait for in-flight work. */
  close(): Promise<void>
}

export function createApp(deps: AppDeps): App {
  const { log, config } = deps
  const metrics = createMetrics(deps.bus)
  const apiDeps: ApiDeps = { ...deps, log, metrics: metrics.api }
  const createContext = createContextFactory(apiDeps)
  const origins = createOriginPolicy(config.allowedOrigins)
  const serveStatic = config.webDist ? createStaticHandler(config.webDist) : null
  let shuttingDown = false

  const trpcHttp = createHTTPHandler({
    router: appRouter,
    createContext,
    basePath: '/trpc/',
    maxBodySize: config.httpMaxBodyBytes,
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') log.error({ err: error.cause ?? error, path }, 'procedure failed')
    },
  })

  async function readiness(): Promise<{ ok: boolean; down: Record<string, string> }> {
    const down: Record<string, string> = {}
    if (shuttingDown) down.server = 'shutting down'
    if (!(await deps.database.ping())) down.mongodb = 'not answering'
    const bus = deps.bus.health()
    if (!bus.ok) down.redis = bus.detail ?? 'not connected'
    return { ok: Object.keys(down).length === 0, down }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    applySecurityHeaders(res, config.https)
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/trpc' || url.pathname.startsWith('/trpc/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        const refusal = origins.rejectsMutation(req)
        if (refusal) return sendJson(res, 403, { error: refusal })
      }
      return trpcHttp(req, res)
    }
    if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true, nodeId: deps.nodeId })
    if (url.pathname === '/readyz') {
      const r = await readiness()
      return sendJson(res, r.ok ? 200 : 503, { ok: r.ok, nodeId: deps.nodeId, down: r.down })
    }
    if (url.pathname === '/metrics') {
      res.setHeader('Content-Type', metrics.registry.contentType)
      res.end(await metrics.registry.metrics())
      return
    }
    if (serveStatic && (await serveStatic(req, res))) return
    sendJson(res, 404, { error: 'Not found' })
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'request failed')
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal server error' })
      else res.destroy()
    })
  })

  const wss = new WebSocketServer({ noServer: true, maxPayload: config.wsMaxPayloadBytes, perMessageDeflate: false })
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (path !== '/trpc' || shuttingDown || !origins.allowsUpgrade(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
  })
  wss.on('connection', (ws) => {
    const connId = randomUUID()
    metrics.connections.inc()
    log.debug({ connId }, 'ws open')
    ws.once('close', (code) => {
      metrics.connections.dec()
      log.debug({ connId, code }, 'ws close')
    })
  })
  const wssHandler = applyWSSHandler({
    wss,
    router: appRouter,
    createContext,
    keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 5_000 },
  })

  return {
    server,
    wss,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          const addr = server.address() as AddressInfo
          resolve({ port: addr.port, url: `http://127.0.0.1:${addr.port}` })
        })
      })
    },
    async close() {
      shuttingDown = true
      wssHandler.broadcastReconnectNotification()
      server.close()
      const deadline = Date.now() + config.shutdownTimeoutMs
      // Give clients a moment to move, then close what's left with "going away".
      await new Promise((r) => setTimeout(r, Math.min(500, config.shutdownTimeoutMs)))
      for (const ws of wss.clients) ws.close(1001, 'server restarting')
      while (wss.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      for (const ws of wss.clients) ws.terminate()
      server.closeAllConnections()
    },
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json')
  res.setHeader('Cache-Control', 'no-store')
  res.end(JSON.stringify(body))
}
