/**
 * Real @trpc/client instances for tests and load tools: HTTP batch for
 * queries/mutations (with a cookie jar), WebSocket for subscriptions (the
 * session cookie goes on the upgrade request, as a browser would send it).
 */
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink, type TRPCClient } from '@trpc/client'
import type { AnyTRPCRouter } from '@trpc/server'
import { WebSocket } from 'ws'

export interface CookieJar {
  cookie: string | null
}

export interface ClientOptions {
  /** Shared with the WebSocket: what the HTTP calls set, the upgrade sends. */
  jar?: CookieJar
  /** Extra headers on every request (e.g. Origin). */
  headers?: Record<string, string>
  /** Pass the token in connectionParams instead of the Cookie header. */
  token?: string
  wsRetryDelayMs?: (attempt: number) => number
  /** Keep WebSocket lazy (opens on first subscription). Default true. */
  lazy?: boolean
}

/** Generic over the router so this package needs no dependency on @parley/api (which depends on it for tests). */
export interface ApiClient<TRouter extends AnyTRPCRouter> {
  trpc: TRPCClient<TRouter>
  jar: CookieJar
  ws: ReturnType<typeof createWSClient>
  close(): Promise<void>
}

function cookieFetch(jar: CookieJar, headers: Record<string, string>): typeof fetch {
  return async (input, init) => {
    const h = new Headers(init?.headers)
    for (const [k, v] of Object.entries(headers)) h.set(k, v)
    if (jar.cookie) h.set('cookie', jar.cookie)
    const res = await fetch(input, { ...init, headers: h })
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';')
      if (!pair) continue
      // Max-Age=0 / empty value clears the session.
      jar.cookie = /max-age=0/i.test(set) || pair.endsWith('=') ? null : pair
    }
    return res
  }
}

export function createClient<TRouter extends AnyTRPCRouter>(baseUrl: string, options: ClientOptions = {}): ApiClient<TRouter> {
  const jar = options.jar ?? { cookie: null }
  const headers = options.headers ?? {}
  const wsUrl = baseUrl.replace(/^http/, 'ws') + '/trpc'
  // A WebSocket class that sends the jar's cookie on the upgrade, like a browser.
  class CookieWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers: { ...headers, ...(jar.cookie ? { cookie: jar.cookie } : {}) } })
    }
  }
  const ws = createWSClient({
    url: wsUrl,
    WebSocket: CookieWebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: options.wsRetryDelayMs ?? ((attempt) => Math.min(50 * 2 ** attempt, 1000)),
    lazy: { enabled: options.lazy ?? true, closeMs: 0 },
    connectionParams: options.token ? { token: options.token } : undefined,
  })
  // Links are built for any router (no transformer), then typed for the caller's router.
  const trpc = createTRPCClient<AnyTRPCRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: ws }),
        false: httpBatchLink({ url: baseUrl + '/trpc', fetch: cookieFetch(jar, headers) }),
      }),
    ],
  }) as unknown as TRPCClient<TRouter>
  return {
    trpc,
    jar,
    ws,
    async close() {
      await ws.close()
    },
  }
}
