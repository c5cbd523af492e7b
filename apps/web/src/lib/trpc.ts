/**
 * The tRPC client: subscriptions over one WebSocket (`/trpc`, same origin),
 * and so are the outbox's sends, edits and reactions, read markers and
 * typing, and the room list's refetch after a reconnect, while that socket
 * is open and the browser online: the socket's session was checked when it
 * opened, so each skips the session read and the HTTP round trip
 * (docs/performance.md). A request the socket drops comes back as a network
 * error, which the outbox retries with the same `clientId`, useMarkRead
 * sends again and Vue Query retries. Everything else
 * goes over HTTP batches (`httpBatchLink`, so auth calls can set cookies), and
 * so does a mutation while the socket is down, so that it fails at once and
 * the outbox says it waits. Unbatched mutations (`httpLink`, tried on 12-03 to save a task per
 * send) made a send just after Chromium's emulated loss of network reach the
 * server in about one browser-test run in eight, batched in none
 * (docs/performance-log.md).
 *
 * The socket authenticates with the session cookie when it opens, so after
 * sign-in or sign-out `reconnectTrpc()` replaces it; `generation` ticks so
 * live subscriptions resubscribe on the new one.
 */
import {
  createTRPCClient,
  createWSClient,
  getUntypedClient,
  httpBatchLink,
  splitLink,
  wsLink,
  type TRPCClient,
} from '@trpc/client'
import { nextTick, shallowRef } from 'vue'
import type { AppRouter } from '@parley/api'
import type { MutationPath, QueryPath } from './contract.ts'

export interface ConnectionListener {
  open(): void
  close(code: number | undefined): void
}

const listeners = new Set<ConnectionListener>()

/** Hears the WebSocket open and close; returns a function that stops listening. */
export function onConnectionChange(listener: ConnectionListener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/**
 * While the browser is offline a try fails at once, on the device: it tries
 * again every second, so the socket is back within a second of the network
 * (backed off, a phone out of a long tunnel waited up to 15 s to see new
 * messages). Online: 0.5 s doubling to 15 s, with ±20 % jitter so a
 * restarted server is not stampeded.
 */
export const OFFLINE_RETRY_MS = 1_000

/** How long the socket waits before its next try to open. */
export function reconnectDelay(attempt: number): number {
  if (!navigator.onLine) return OFFLINE_RETRY_MS
  const base = Math.min(500 * 2 ** attempt, 15_000)
  return Math.round(base * (0.8 + Math.random() * 0.4))
}

/**
 * How long a socket may take to open before the try is given up and the
 * next one made (the usual backoff, above). Chromium gives an opening
 * handshake 240 s: a try made in a tunnel, whose packets were lost, could
 * hold "Reconnecting…" for minutes after the signal came back. 20 s, the
 * default of Firefox (`network.websocket.timeout.open`) and of Socket.IO's
 * client, leaves a slow link (2G, a satellite) time to finish a handshake.
 */
const OPEN_TIMEOUT_MS = 20_000

/** The browser's WebSocket, failed if it has not opened within OPEN_TIMEOUT_MS. */
class SocketWithOpenTimeout extends WebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols)
    // Closing a socket that has not opened fails it: `error`, then `close`
    // (1006), which tRPC takes as a failed try.
    const timer = setTimeout(() => {
      if (this.readyState === WebSocket.CONNECTING) this.close()
    }, OPEN_TIMEOUT_MS)
    this.addEventListener('open', () => clearTimeout(timer))
    this.addEventListener('close', () => clearTimeout(timer))
  }
}

function socketUrl(): string {
  const { protocol, host } = window.location
  return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}/trpc`
}

interface Connection {
  ws: ReturnType<typeof createWSClient>
  client: TRPCClient<AppRouter>
  /** Marks the socket as closed on purpose (reconnectTrpc): its close is not a dropped connection. */
  retire(): void
}

/**
 * The mutations that go over the socket while it is open. Each is bounded
 * well under the socket's own request limit (WS_RATE_LIMIT, 200 per 10 s;
 * over it the socket is closed): sends and edits (SEND_RATE_LIMIT, 30 per
 * 10 s) and reactions (60) stop an outbox flush with a 429; typing goes out
 * at most every 3 s (useRoomActions); a read marker at most every 5 s
 * for the room on screen, plus one per room left (useMarkRead). Read markers
 * matter most: every reader of a busy room sends them, and over HTTP each
 * cost the node about twice the CPU (a session and a user read first;
 * docs/performance.md, "Read markers").
 * Deletes have no limit of their own, so hundreds queued offline would
 * cross the socket's: they go over HTTP.
 */
const SOCKET_MUTATIONS = new Set<string>([
  'messages.send',
  'messages.edit',
  'messages.react',
  'rooms.markRead',
  'typing.start',
] satisfies MutationPath[])

/**
 * The queries that go over the socket while it is open. `rooms.list` is
 * refetched on every reconnect (useUserEvents): when a node goes down, every
 * client it held asks the surviving node for its list at once, and over
 * HTTP each request read the session and the user again first
 * (docs/performance.md, "The reconnect storm"). Refetches come from
 * reconnects and rooms added, well under the socket's request limit. Other
 * queries stay on HTTP: a page of history or a directory search is not
 * bounded that way, and over the limit the socket is closed.
 */
const SOCKET_QUERIES = new Set<string>(['rooms.list'] satisfies QueryPath[])

/** The close code of a socket whose session the server ended (packages/api, context.ts). */
const SESSION_ENDED = 4001

function connect(): Connection {
  // Our own flag, not `ws.connection.state`: tRPC makes a reopened socket its
  // active one only after `onOpen` has run, so its state still says closed to
  // what the open wakes up (the outbox's flush, read markers sent again), and
  // they would go over HTTP. Sent to wsLink in that gap, a request waits for
  // the socket tRPC is opening.
  let open = false
  let retired = false
  const ws = createWSClient({
    url: socketUrl,
    WebSocket: SocketWithOpenTimeout,
    retryDelayMs: reconnectDelay,
    keepAlive: { enabled: true, intervalMs: 20_000, pongTimeoutMs: 5_000 },
    onOpen: () => {
      open = true
      listeners.forEach((l) => l.open())
    },
    onClose: (cause) => {
      // tRPC reports every socket's close, also the one it retires after moving
      // to a new socket (a server's graceful restart asks for that): with the
      // new one open, nothing was lost.
      if (ws.connection?.state === 'open') return
      open = false
      // Replaced after a sign-in or sign-out: the new socket's open (or its
      // failure) tells. Told, the app flashed "Reconnecting…" and a screen
      // reader said "Back online" at every sign-in. Closed by the server as
      // it ended the socket's session ("sign out everywhere"): the app is
      // being signed out, not cut off, and tRPC reopens the socket signed out.
      if (retired || cause?.code === SESSION_ENDED) return
      listeners.forEach((l) => l.close(cause?.code))
    },
  })
  const overSocket = (op: { type: string; path: string }) =>
    op.type === 'subscription' ||
    ((op.type === 'mutation' ? SOCKET_MUTATIONS : SOCKET_QUERIES).has(op.path) && navigator.onLine && open)
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: overSocket,
        true: wsLink({ client: ws }),
        // maxItems: the server answers a larger batch 400 (HTTP_MAX_BATCH, 50).
        false: httpBatchLink({ url: '/trpc', maxURLLength: 2000, maxItems: 50 }),
      }),
    ],
  })
  return { ws, client, retire: () => (retired = true) }
}

let current: Connection | null = null

/** Ticks whenever the client is replaced; subscriptions read it to resubscribe. */
export const generation = shallowRef(0)

/** The typed vanilla client (created on first use). */
export function trpc(): TRPCClient<AppRouter> {
  current ??= connect()
  return current.client
}

/** The same client addressed by path string; `trpc-query.ts` types it. */
export function untypedTrpc() {
  return getUntypedClient(trpc())
}

/**
 * The socket is about to close on purpose: signing out ends its session,
 * and the server closes the sockets of an ended session. That close, and
 * the one reconnectTrpc makes, is not a dropped connection.
 */
export function retireSocket(): void {
  current?.retire()
}

/** Replace the socket so its session matches the cookie (after sign-in / sign-out). */
export async function reconnectTrpc(): Promise<void> {
  const old = current
  retireSocket()
  current = null
  generation.value++
  // Let subscriptions unsubscribe from the old socket before it closes.
  await nextTick()
  if (old) await old.ws.close()
  trpc()
}
