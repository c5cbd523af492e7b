/**
 * Boots a real Parley node for a test: HTTP + WebSocket on a free port,
 * embedded MongoDB in memory, in-process bus unless REDIS_URL is given.
 * Use `await using server = await startTestServer()` or call `stop()`.
 */
import { randomBytes } from 'node:crypto'
import { pino, type Logger } from 'pino'
import type { AppRouter } from '@parley/api'
import { createClient, type ApiClient as GenericClient, type ClientOptions } from '@parley/testing'
import { readEnv } from '../src/env.ts'
import { startServer, type RunningServer } from '../src/server.ts'

export type ApiClient = GenericClient<AppRouter>

export interface TestServer extends RunningServer {
  wsUrl: string
  /** A client (HTTP + WS) that is closed with the server. */
  client(options?: ClientOptions): ApiClient
  /** Register a fresh user and return a signed-in client. */
  signUp(username?: string, password?: string): Promise<ApiClient & { user: { id: string; username: string; displayName: string } }>
  [Symbol.asyncDispose](): Promise<void>
}


/** `log`: a test that asserts what a node logs passes its own (the default logs nothing unless TEST_LOG_LEVEL is set). */
export async function startTestServer(env: Record<string, string> = {}, { log }: { log?: Logger } = {}): Promise<TestServer> {
  const config = readEnv({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Cheap hashes in tests only; production uses OWASP's minimum or above.
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
    SEND_RATE_LIMIT: '100000',
    // Every test user signs up from 127.0.0.1; tests of these limits set their own.
    REGISTER_RATE_LIMIT_IP: '100000',
    ROOM_ACTION_RATE_LIMIT: '100000',
    REACT_RATE_LIMIT: '100000',
    // With MONGODB_URL set, every server test runs against that real MongoDB.
    ...(process.env.MONGODB_URL ? { MONGODB_URL: process.env.MONGODB_URL } : {}),
    ...env,
  })
  const running = await startServer(config, log ?? pino({ level: config.LOG_LEVEL }))
  const clients: ApiClient[] = []
  const server: TestServer = {
    ...running,
    wsUrl: running.url.replace(/^http/, 'ws') + '/trpc',
    client(options) {
      const c = createClient<AppRouter>(running.url, options)
      clients.push(c)
      return c
    },
    async signUp(username, password = 'correct horse battery') {
      const name = username ?? `u_${randomBytes(6).toString('hex')}`
      const c = server.client()
      const { user } = await c.trpc.auth.register.mutate({ username: name, password })
      return Object.assign(c, { user })
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close()))
      await running.stop()
    },
    async [Symbol.asyncDispose]() {
      await server.stop()
    },
  }
  return server
}
