/**
 * A minimal tRPC v11 WebSocket client speaking the wire protocol directly
 * (lighter than @trpc/client, so one load-generator process can drive
 * thousands of sockets): JSON text frames, `{id, method, params:{path,input}}`
 * requests, `{id, result:{type:'started'|'data'|'stopped', id?, data}}` or
 * `{id, error}` replies, "PING" → "PONG" keep-alive. Authentication is the
 * session cookie on the upgrade request, so no connectionParams handshake.
 */
import { WebSocket } from 'ws'

export interface SubHandlers {
  onStarted(): void
  /** `id` is the tracked event id (room seq as a string), `data` the event. */
  onData(id: string | undefined, data: unknown, raw: string): void
  onError(error: unknown): void
  onStopped(): void
}

type MutationHandler = (ok: boolean, data: unknown) => void

export class Conn {
  ws: WebSocket | null = null
  private nextId = 1
  private readonly subs = new Map<number, SubHandlers>()
  private readonly pending = new Map<number, MutationHandler>()
  onClose: ((code: number) => void) | null = null
  closedByUs = false

  constructor(
    readonly url: string,
    readonly cookie: string,
    readonly localAddress: string | undefined,
  ) {}

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN
  }

  open(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url.replace(/^http/, 'ws') + '/trpc', {
        headers: { cookie: this.cookie },
        localAddress: this.localAddress,
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
      })
      this.ws = ws
      let opened = false
      ws.once('open', () => {
        opened = true
        resolve()
      })
      ws.once('error', (err) => {
        if (!opened) reject(err)
      })
      ws.once('close', (code) => {
        if (!opened) reject(new Error(`closed before open (${code})`))
        // Everything in flight on this socket is over.
        for (const h of this.pending.values()) h(false, { code: 'CONNECTION_CLOSED' })
        this.pending.clear()
        const subs = [...this.subs.values()]
        this.subs.clear()
        for (const s of subs) s.onStopped()
        if (opened && !this.closedByUs) this.onClose?.(code)
      })
      ws.on('message', (raw, isBinary) => this.onMessage(isBinary ? raw.toString() : (raw as Buffer).toString('utf8')))
    })
  }

  private onMessage(text: string): void {
    if (text === 'PING') {
      this.ws?.send('PONG')
      return
    }
    if (text === 'PONG') return
    let msg: { id: number | null; result?: { type: string; id?: string; data?: unknown }; error?: unknown; method?: string }
    try {
      msg = JSON.parse(text)
    } catch {
      return
    }
    if (msg.id == null) return // e.g. { method: 'reconnect' }
    const sub = this.subs.get(msg.id)
    if (sub) {
      if (msg.error !== undefined) {
        this.subs.delete(msg.id)
        sub.onError(msg.error)
        return
      }
      const r = msg.result
      if (!r) return
      if (r.type === 'started') sub.onStarted()
      else if (r.type === 'stopped') {
        this.subs.delete(msg.id)
        sub.onStopped()
      } else if (r.type === 'data') {
        // Tracked: result.id is the event id and result.data is { id, data }.
        if (r.id !== undefined) sub.onData(r.id, (r.data as { data: unknown }).data, text)
        else sub.onData(undefined, r.data, text)
      }
      return
    }
    const h = this.pending.get(msg.id)
    if (h) {
      this.pending.delete(msg.id)
      if (msg.error !== undefined) h(false, msg.error)
      else h(true, msg.result?.data)
    }
  }

  subscribe(path: string, input: unknown, handlers: SubHandlers): number {
    const id = this.nextId++
    this.subs.set(id, handlers)
    this.ws!.send(JSON.stringify({ id, method: 'subscription', params: { path, input } }))
    return id
  }

  /** Sends a mutation; the handler runs once with the result, an error, or CONNECTION_CLOSED. Returns false if the socket is not open. */
  mutate(path: string, input: unknown, handler: MutationHandler): boolean {
    if (!this.isOpen) return false
    const id = this.nextId++
    this.pending.set(id, handler)
    this.ws!.send(JSON.stringify({ id, method: 'mutation', params: { path, input } }))
    return true
  }

  get inFlight(): number {
    return this.pending.size
  }

  close(): void {
    this.closedByUs = true
    this.ws?.terminate()
  }
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run))
}

export function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { data?: { code?: string }; code?: string | number; message?: string }
    if (e.data?.code) return e.data.code
    if (typeof e.code === 'string') return e.code
    if (e.message) return e.message.slice(0, 60)
  }
  return String(err).slice(0, 60)
}
