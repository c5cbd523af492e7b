/**
 * A minimal tRPC v11 WebSocket client for the load generator, speaking both
 * protocols directly so that receiving a delivery costs as little CPU as
 * possible (the generators share the cores with the servers they measure):
 *
 * - WebSocket (RFC 6455) over a plain `net.Socket`: the HTTP upgrade with the
 *   session cookie, then frames. Incoming bytes land in one read buffer shared
 *   by every socket of the process (`onread`: no allocation, no stream
 *   machinery per read) and messages are handed on as byte ranges of it; only
 *   a frame split across reads is copied. Outgoing frames are masked with an
 *   all-zero key, so the payload is written as is (a bench on loopback; a real
 *   client must use random keys). Pings are answered, fragments reassembled,
 *   a close frame echoed.
 * - tRPC: `{id, method, params:{path,input}}` requests, `{id, result:{type:
 *   'started'|'data'|'stopped', id?, data}}` or `{id, error}` replies, "PING"
 *   → "PONG" keep-alive. Subscription data is read by frames.ts: a byte scan
 *   for the usual shapes, JSON.parse for anything else.
 *
 * Authentication is the session cookie on the upgrade request, so no
 * connectionParams handshake.
 */
import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'
import { newServerMsg, parseMessage, scanData, type ServerMsg } from './frames.ts'

export interface SubHandlers {
  onStarted(): void
  /** A data message (`m.tracked`, `m.trackedId`, `m.eventType`, the stamp…). `m` is reused for the next message: read it, don't keep it. */
  onData(m: ServerMsg): void
  onError(error: unknown): void
  onStopped(): void
}

type RequestHandler = (ok: boolean, data: unknown) => void

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024
const MAX_HANDSHAKE_BYTES = 16 * 1024
/** One read buffer for every socket of the process: onread callbacks run one at a time and nothing keeps a view of it past its callback. */
const readBuffer = Buffer.allocUnsafe(64 * 1024)
/** Likewise one parsed-message record: handlers must not keep it. */
const msg = newServerMsg()

const State = { Connecting: 0, Open: 1, Closing: 2, Closed: 3 } as const
type State = (typeof State)[keyof typeof State]

export class Conn {
  private sock: net.Socket | null = null
  private state: State = State.Closed
  private nextId = 1
  private readonly subs = new Map<number, SubHandlers>()
  private readonly pending = new Map<number, RequestHandler>()
  /** Handshake response bytes so far. */
  private head: Buffer | null = null
  /** pend[0, pendLen): the start of a frame whose end has not arrived yet (a copy). */
  private pend: Buffer | null = null
  private pendLen = 0
  /** Fragments of a message sent in several frames (copies). */
  private frags: Buffer[] | null = null
  private closeCode = 1006
  private handshake: { key: string; done: (err: Error | null) => void } | null = null
  /** Where frames go without a socket (Conn.detached). */
  private sink: ((frame: Buffer) => void) | null = null
  onClose: ((code: number) => void) | null = null
  closedByUs = false

  constructor(
    readonly url: string,
    readonly cookie: string,
    readonly localAddress: string | undefined,
    /** The upgrade's path and query: Parley's tRPC endpoint unless a subclass speaks another protocol. */
    readonly wsPath = '/trpc',
  ) {}

  /** An open connection without a socket, for tests and the receive microbenchmark: bytes come in through receive(), frames sent go to `sink`. */
  static detached(sink: (frame: Buffer) => void): Conn {
    const c = new Conn('', '', undefined)
    c.sink = sink
    c.state = State.Open
    return c
  }

  /** Server bytes in (what the socket's read callback does). */
  receive(buf: Buffer, start = 0, end = buf.length): void {
    if (this.state === State.Open) this.feed(buf, start, end)
  }

  get isOpen(): boolean {
    return this.state === State.Open
  }

  /** Opens the WebSocket; fails if the handshake is not answered within `timeoutMs` (0: waits as long as the socket lives). */
  open(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const url = new URL(this.url.replace(/^http/, 'ws') + this.wsPath)
      const key = randomBytes(16).toString('base64')
      let opened = false
      let settled = false
      const sock = net.connect({
        host: url.hostname,
        port: Number(url.port || 80),
        localAddress: this.localAddress,
        noDelay: true,
        onread: {
          buffer: readBuffer,
          callback: (n: number) => {
            this.onRead(n)
            return true
          },
        },
      })
      this.sock = sock
      this.state = State.Connecting
      const fail = (err: Error) => {
        if (!settled) {
          settled = true
          reject(err)
        }
        sock.destroy()
      }
      const timer = timeoutMs > 0 ? setTimeout(() => fail(new Error('Opening handshake has timed out')), timeoutMs) : undefined
      this.handshake = {
        key,
        done: (err) => {
          this.handshake = null
          if (err) return fail(err)
          clearTimeout(timer)
          opened = true
          settled = true
          resolve()
        },
      }
      sock.once('connect', () => {
        const cookie = this.cookie ? `Cookie: ${this.cookie}\r\n` : ''
        sock.write(
          `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n${cookie}\r\n`,
        )
      })
      // Before the upgrade an error fails open(); after it, 'close' follows and says the rest.
      sock.on('error', (err) => {
        if (!opened) fail(err)
      })
      sock.once('close', () => {
        clearTimeout(timer)
        this.state = State.Closed
        this.handshake = null
        this.head = this.pend = null
        this.pendLen = 0
        this.frags = null
        if (!settled) {
          settled = true
          reject(new Error(`closed before open (${this.closeCode})`))
        }
        // Everything in flight on this socket is over.
        for (const h of this.pending.values()) h(false, { code: 'CONNECTION_CLOSED' })
        this.pending.clear()
        const subs = [...this.subs.values()]
        this.subs.clear()
        for (const s of subs) s.onStopped()
        if (opened && !this.closedByUs) this.onClose?.(this.closeCode)
      })
    })
  }

  // ---------- WebSocket: reading ----------

  private onRead(n: number): void {
    if (this.state === State.Open) this.feed(readBuffer, 0, n)
    else if (this.state === State.Connecting) this.onHandshakeBytes(n)
    // Closing / closed: ignore whatever still comes.
  }

  private onHandshakeBytes(n: number): void {
    const chunk = readBuffer.subarray(0, n)
    const head = this.head ? Buffer.concat([this.head, chunk]) : Buffer.from(chunk)
    const end = head.indexOf('\r\n\r\n')
    if (end < 0) {
      this.head = head
      if (head.length > MAX_HANDSHAKE_BYTES) this.handshake?.done(new Error('Handshake response too large'))
      return
    }
    this.head = null
    const hs = this.handshake
    if (!hs) return
    const lines = head.toString('latin1', 0, end).split('\r\n')
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)
    if (status?.[1] !== '101') return hs.done(new Error(`Unexpected server response: ${status?.[1] ?? JSON.stringify(lines[0]!.slice(0, 60))}`))
    const headers = new Map<string, string>()
    for (const line of lines.slice(1)) {
      const c = line.indexOf(':')
      if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim())
    }
    if (headers.get('upgrade')?.toLowerCase() !== 'websocket') return hs.done(new Error('Invalid Upgrade header'))
    if (headers.get('sec-websocket-accept') !== createHash('sha1').update(hs.key + WS_GUID).digest('base64')) return hs.done(new Error('Invalid Sec-WebSocket-Accept header'))
    this.state = State.Open
    hs.done(null)
    // Frames that came in the same read as the response.
    if (end + 4 < head.length) this.feed(head, end + 4, head.length)
  }

  /** Parses the frames in buf[s, e), after whatever partial frame was left over. */
  private feed(buf: Buffer, s: number, e: number): void {
    if (this.pendLen === 0) {
      const used = this.frames(buf, s, e)
      // Keep the start of the next frame (copied: buf may be the shared read buffer).
      if (used < e && this.state === State.Open) this.keep(buf, used, e)
      return
    }
    // Complete the partial frame: append (amortised O(n) even for big frames in small reads), then parse from there.
    this.keep(buf, s, e)
    const pend = this.pend!
    const used = this.frames(pend, 0, this.pendLen)
    if (this.state !== State.Open) return
    const left = this.pendLen - used
    if (used > 0 && left > 0) pend.copyWithin(0, used, this.pendLen)
    this.pendLen = left
    if (left === 0 && pend.length > 64 * 1024) this.pend = null
  }

  /** Appends buf[s, e) to the pending bytes. */
  private keep(buf: Buffer, s: number, e: number): void {
    const need = this.pendLen + (e - s)
    if (!this.pend || this.pend.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * (this.pend?.length ?? 0), 1024))
      this.pend?.copy(grown, 0, 0, this.pendLen)
      this.pend = grown
    }
    buf.copy(this.pend, this.pendLen, s, e)
    this.pendLen = need
  }

  /** Handles the complete frames in buf[s, e); returns where the first incomplete one starts. */
  private frames(buf: Buffer, s: number, e: number): number {
    while (e - s >= 2) {
      const b0 = buf[s]!
      const b1 = buf[s + 1]!
      if (b1 & 0x80) return this.protocolError(e) // a server never masks
      if (b0 & 0x70) return this.protocolError(e) // no extension was negotiated
      let len = b1 & 0x7f
      let p = s + 2
      if (len === 126) {
        if (e - s < 4) break
        len = (buf[s + 2]! << 8) | buf[s + 3]!
        p = s + 4
      } else if (len === 127) {
        if (e - s < 10) break
        if (buf.readUInt32BE(s + 2) !== 0) return this.protocolError(e)
        len = buf.readUInt32BE(s + 6)
        p = s + 10
      }
      if (len > MAX_MESSAGE_BYTES) return this.protocolError(e)
      if (e - p < len) break
      s = p + len
      this.onFrame(b0, buf, p, s)
      if (this.state !== State.Open) return e
    }
    return s
  }

  private onFrame(b0: number, buf: Buffer, p: number, q: number): void {
    const fin = (b0 & 0x80) !== 0
    const opcode = b0 & 0x0f
    if (opcode === 1 || opcode === 2) {
      if (this.frags) {
        this.protocolError()
        return
      }
      if (fin) this.onMessage(buf, p, q)
      else this.frags = [Buffer.from(buf.subarray(p, q))]
    } else if (opcode === 0) {
      if (!this.frags) {
        this.protocolError()
        return
      }
      this.frags.push(Buffer.from(buf.subarray(p, q)))
      if (fin) {
        const whole = Buffer.concat(this.frags)
        this.frags = null
        this.onMessage(whole, 0, whole.length)
      }
    } else if (opcode === 8) {
      // Close: echo the code, then let the server end the TCP connection.
      this.closeCode = q - p >= 2 ? buf.readUInt16BE(p) : 1005
      this.sendFrame(0x88, q - p >= 2 ? buf.subarray(p, p + 2) : null)
      this.state = State.Closing
      const sock = this.sock
      sock?.end()
      if (sock) setTimeout(() => sock.destroy(), 5_000).unref()
    } else if (opcode === 9) this.sendFrame(0x8a, buf.subarray(p, q))
    else if (opcode !== 10) this.protocolError()
  }

  private protocolError(ret = 0): number {
    this.closeCode = 1002
    this.state = State.Closing
    this.sock?.destroy()
    return ret
  }

  // ---------- tRPC ----------

  /** One complete text or binary message, buf[s, e) (a view of a shared buffer: copy what you keep). */
  protected onMessage(buf: Buffer, s: number, e: number): void {
    // tRPC keep-alive.
    if (e - s === 4 && buf[s] === 0x50 /* P */ && buf[s + 2] === 0x4e /* N */ && buf[s + 3] === 0x47 /* G */) {
      if (buf[s + 1] === 0x49 /* I */) this.sendText('PONG')
      if (buf[s + 1] === 0x49 || buf[s + 1] === 0x4f /* O */) return
    }
    const m = msg
    if (scanData(buf, s, e, m)) {
      const sub = this.subs.get(m.id)
      if (sub) return this.toSub(sub, m)
    }
    if (!parseMessage(buf.toString('utf8', s, e), m) || m.id < 0) return // not JSON, or e.g. { method: 'reconnect' }
    const sub = this.subs.get(m.id)
    if (sub) return this.toSub(sub, m)
    const h = this.pending.get(m.id)
    if (h) {
      this.pending.delete(m.id)
      if (m.kind === 'error') h(false, m.payload)
      else h(true, m.payload)
    }
  }

  private toSub(sub: SubHandlers, m: ServerMsg): void {
    if (m.kind === 'data') sub.onData(m)
    else if (m.kind === 'started') sub.onStarted()
    else if (m.kind === 'stopped') {
      this.subs.delete(m.id)
      sub.onStopped()
    } else if (m.kind === 'error') {
      this.subs.delete(m.id)
      sub.onError(m.payload)
    }
  }

  subscribe(path: string, input: unknown, handlers: SubHandlers): number {
    const id = this.nextId++
    this.subs.set(id, handlers)
    this.sendText(JSON.stringify({ id, method: 'subscription', params: { path, input } }))
    return id
  }

  /** Sends a mutation; the handler runs once with the result, an error, or CONNECTION_CLOSED. Returns false if the socket is not open. */
  mutate(path: string, input: unknown, handler: RequestHandler): boolean {
    return this.request('mutation', path, input, handler)
  }

  /** Sends a query, as `mutate` does a mutation. */
  query(path: string, input: unknown, handler: RequestHandler): boolean {
    return this.request('query', path, input, handler)
  }

  private request(method: 'query' | 'mutation', path: string, input: unknown, handler: RequestHandler): boolean {
    if (!this.isOpen) return false
    const id = this.nextId++
    this.pending.set(id, handler)
    this.sendText(JSON.stringify({ id, method, params: { path, input } }))
    return true
  }

  get inFlight(): number {
    return this.pending.size
  }

  close(): void {
    this.closedByUs = true
    if (this.state !== State.Closed) this.state = State.Closing
    this.sock?.destroy()
  }

  // ---------- WebSocket: writing ----------

  /** One text frame, one write. Returns false if the socket is not open. */
  sendText(text: string): boolean {
    if (this.state !== State.Open) return false
    const len = Buffer.byteLength(text)
    const hl = len < 126 ? 6 : len < 65536 ? 8 : 14
    const f = Buffer.allocUnsafe(hl + len)
    this.header(f, 0x81, len, hl)
    f.write(text, hl, len, 'utf8')
    this.write(f)
    return true
  }

  private sendFrame(b0: number, payload: Buffer | null): void {
    const len = payload?.length ?? 0
    const f = Buffer.allocUnsafe(6 + len)
    this.header(f, b0, len, 6)
    payload?.copy(f, 6)
    this.write(f)
  }

  private write(f: Buffer): void {
    if (this.sock) this.sock.write(f)
    else this.sink?.(f)
  }

  /** First byte, payload length, and an all-zero masking key (the payload needs no masking then). */
  private header(f: Buffer, b0: number, len: number, hl: number): void {
    f[0] = b0
    if (hl === 6) f[1] = 0x80 | len
    else if (hl === 8) {
      f[1] = 0x80 | 126
      f.writeUInt16BE(len, 2)
    } else {
      f[1] = 0x80 | 127
      f.writeUInt32BE(0, 2)
      f.writeUInt32BE(len, 6)
    }
    f.writeUInt32BE(0, hl - 4)
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
