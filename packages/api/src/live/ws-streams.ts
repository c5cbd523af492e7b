/**
 * `events.room` and `events.user` over WebSocket, served straight from the
 * room hub and the user hub.
 *
 * tRPC's WebSocket adapter runs an async iterator, an abort race and a
 * `JSON.stringify` of a fresh envelope for every event and every subscriber,
 * and keeps tens of kilobytes per subscription. For the two streams every
 * client holds, this gateway answers the same wire protocol itself:
 * `subscription` requests for them (and their `subscription.stop`) are taken
 * out of incoming frames before tRPC sees them; everything else passes
 * through untouched. Replies are byte-for-byte what tRPC sends —
 * `started`, tracked `data` ({ id, data: { id, data } }), `stopped`, and
 * errors shaped by the router's own error formatter — so `@trpc/client` and
 * the AppRouter types are unchanged.
 *
 * A data frame is the subscription's fixed prefix + the event's JSON, which
 * the hub serialised once for all subscribers. Data frames are framed here,
 * not by `ws.send`: the event's bytes are encoded once (not once per
 * recipient), and each frame is one buffer (header, prefix, event) rather
 * than a header and a payload. Frames written in one turn of the event loop
 * leave in one TCP write (the socket is corked until the next
 * `setImmediate`), so a busy node sends fewer, larger packets by itself.
 */
import type { Duplex } from 'node:stream'
import { TRPCError } from '@trpc/server'
import { getErrorShape, getTRPCErrorFromUnknown } from '@trpc/server/unstable-core-do-not-import'
import type { WebSocket } from 'ws'
import { RoomEventsInput, type RoomStreamEvent } from '@parley/schemas'
import { requireMemberOrNotFound } from '../access.ts'
import type { Context } from '../context.ts'
import { appRouter } from '../root.ts'
import { admitSubscription } from '../trpc.ts'

const ROOM_STREAM_PATH = 'events.room'
const USER_STREAM_PATH = 'events.user'
type StreamPath = typeof ROOM_STREAM_PATH | typeof USER_STREAM_PATH
const OPEN = 1

type RequestId = number | string

interface Entry {
  readonly id: RequestId
  readonly path: StreamPath
  /** `{"id":…,"result":{"type":"data",` — everything before the event, as UTF-8. */
  readonly prefix: Buffer
  readonly jsonrpc: '2.0' | undefined
  stream: { close(): void } | null
  /** Stopped by the client or the socket closed: nothing more is sent. */
  stopped: boolean
  release: (() => void) | null
}

interface Request {
  id: RequestId
  jsonrpc?: unknown
  method: 'subscription' | 'subscription.stop'
  params: { path: StreamPath; input?: unknown; lastEventId?: unknown }
}

export interface StreamGatewayOptions {
  /** The connection's tRPC context, once tRPC's handler created it. */
  contextOf(ws: WebSocket): Promise<Context> | undefined
  /** Unexpected failures (the client gets INTERNAL_SERVER_ERROR). */
  onInternalError(err: unknown, path: string): void
}

export function createStreamGateway(options: StreamGatewayOptions) {
  const write = createCorkedWriter()

  function attach(ws: WebSocket, socket: Duplex): void {
    let entries: Map<RequestId, Entry> | null = null // most sockets hold a few; allocated on first use

    const reply = (entry: Pick<Entry, 'id' | 'jsonrpc'>, body: object) =>
      write.text(ws, socket, JSON.stringify({ id: entry.id, ...(entry.jsonrpc ? { jsonrpc: entry.jsonrpc } : {}), ...body }))

    function fail(entry: Pick<Entry, 'id' | 'jsonrpc' | 'path'>, cause: unknown, ctx: Context | undefined, input: unknown): void {
      const error = getTRPCErrorFromUnknown(cause)
      if (error.code === 'INTERNAL_SERVER_ERROR') options.onInternalError(error.cause ?? error, entry.path)
      const shape = getErrorShape({ config: appRouter._def._config, error, type: 'subscription', path: entry.path, input, ctx })
      reply(entry, { error: shape })
    }

    function close(entry: Entry): void {
      // A stopped request's id may already belong to a newer request: only forget our own.
      if (entries?.get(entry.id) === entry) entries.delete(entry.id)
      entry.stopped = true
      entry.stream?.close()
      entry.release?.()
      entry.release = null
    }

    async function start(req: Request): Promise<void> {
      const jsonrpc = req.jsonrpc === '2.0' ? '2.0' : undefined
      const path = req.params.path
      if (entries?.has(req.id)) return fail({ id: req.id, jsonrpc, path }, new TRPCError({ code: 'BAD_REQUEST', message: `Duplicate id ${req.id}` }), undefined, undefined)
      const entry: Entry = {
        id: req.id,
        path,
        jsonrpc,
        prefix: Buffer.from(`{"id":${JSON.stringify(req.id)},${jsonrpc ? '"jsonrpc":"2.0",' : ''}"result":{"type":"data",`),
        stream: null,
        stopped: false,
        release: null,
      }
      ;(entries ??= new Map()).set(entry.id, entry)

      // tRPC merges a reconnecting client's lastEventId into the input; so do we.
      let input = req.params.input
      const lastEventId = req.params.lastEventId
      if (lastEventId !== undefined) input = isObject(input) ? { ...input, lastEventId } : (input ?? { lastEventId })

      let ctx: Context | undefined
      const end = (error?: unknown) => {
        if (entry.stopped) return
        close(entry)
        if (error) fail(entry, error, ctx, input)
        else reply(entry, { result: { type: 'stopped' } })
      }
      try {
        const pending = options.contextOf(ws)
        if (!pending) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Send the connection parameters first' })
        ctx = await pending
        const session = ctx.session
        if (!session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' })
        const me = session.user._id.toHexString()
        if (path === USER_STREAM_PATH) {
          entry.release = admitSubscription(ctx, path)
          if (entry.stopped || ws.readyState !== OPEN) return close(entry)
          reply(entry, { result: { type: 'started' } })
          entry.stream = ctx.deps.userHub.open(me, session.session._id, {
            push: (json) => write.data(ws, socket, entry.prefix, json, null),
            end,
          })
          return
        }
        const parsed = RoomEventsInput.safeParse(input)
        if (!parsed.success) throw new TRPCError({ code: 'BAD_REQUEST', cause: parsed.error })
        entry.release = admitSubscription(ctx, path)
        const { room } = await requireMemberOrNotFound({ ...ctx, session }, parsed.data.roomId)
        if (entry.stopped || ws.readyState !== OPEN) return close(entry)
        reply(entry, { result: { type: 'started' } })
        const resumeFrom = parsed.data.lastEventId == null ? null : Number(parsed.data.lastEventId)
        entry.stream = ctx.deps.roomHub.open(room, me, resumeFrom, {
          push: (event: RoomStreamEvent, json) => write.data(ws, socket, entry.prefix, json, event.type === 'typing' ? null : String(event.seq)),
          end,
        })
      } catch (err) {
        const stopped = entry.stopped
        close(entry)
        if (!stopped && ws.readyState === OPEN) fail(entry, err, ctx, input)
      }
    }

    function stop(id: RequestId): void {
      const entry = entries?.get(id)
      if (!entry) return
      close(entry)
      reply(entry, { result: { type: 'stopped' } })
    }

    /** Takes this gateway's requests out of a frame; returns what is left for tRPC (null: nothing). */
    function route(data: Buffer): Buffer | null {
      // Cheap test first: most frames are mutations and queries.
      if (!data.includes(ROOM_STREAM_PATH) && !data.includes(USER_STREAM_PATH) && !(entries?.size && data.includes('subscription.stop'))) return data
      let parsed: unknown
      try {
        parsed = JSON.parse(data.toString('utf8'))
      } catch {
        return data // tRPC answers the parse error
      }
      const list = Array.isArray(parsed) ? parsed : [parsed]
      const rest: unknown[] = []
      for (const msg of list) {
        if (isStreamRequest(msg)) void start(msg)
        else if (isStop(msg) && entries?.has(msg.id)) stop(msg.id)
        else rest.push(msg)
      }
      if (rest.length === list.length) return data
      if (rest.length === 0) return null
      return Buffer.from(JSON.stringify(Array.isArray(parsed) ? rest : rest[0]))
    }

    const emit = ws.emit
    ws.emit = function (this: WebSocket, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'message' && args[1] === false && Buffer.isBuffer(args[0])) {
        const rest = route(args[0])
        if (rest === null) return true
        args[0] = rest
      }
      return emit.call(this, event, ...args)
    } as WebSocket['emit']

    ws.once('close', () => {
      if (entries) for (const entry of [...entries.values()]) close(entry)
    })
  }

  return { attach }
}

/** The part of a data frame after the prefix: tracked events carry their id (a room event's seq), as tRPC's `tracked()` sends them. */
function dataFrame(json: string, trackedId: string | null): string {
  if (trackedId === null) return `"data":${json}}}`
  return `"id":"${trackedId}","data":{"id":"${trackedId}","data":${json}}}}`
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function validId(id: unknown): id is RequestId {
  return typeof id === 'number' || (typeof id === 'string' && id.length > 0)
}

function isStreamRequest(msg: unknown): msg is Request {
  return isObject(msg) && msg.method === 'subscription' && validId(msg.id) && isObject(msg.params) && (msg.params.path === ROOM_STREAM_PATH || msg.params.path === USER_STREAM_PATH)
}

function isStop(msg: unknown): msg is Request {
  return isObject(msg) && msg.method === 'subscription.stop' && validId(msg.id)
}

/**
 * Writes frames with every socket written in this turn of the event loop
 * corked until the next setImmediate: many frames, one write.
 *
 * `text` goes through ws.send. `data` builds the frame itself: one buffer of
 * WebSocket header + the subscription's prefix + the event part, whose UTF-8
 * bytes are computed once per event (the hub hands every subscriber the same
 * JSON string, so a one-entry cache hits for all but the first). Server
 * frames are unmasked and this server negotiates no extensions, so the bytes
 * are exactly what ws.send would produce; ws writes synchronously to the same
 * socket, so frames from both paths keep their order.
 */
function createCorkedWriter() {
  const corked = new Set<Duplex>()
  let scheduled = false
  const flush = () => {
    scheduled = false
    for (const socket of corked) socket.uncork()
    corked.clear()
  }
  const cork = (socket: Duplex) => {
    if (corked.has(socket)) return
    socket.cork()
    corked.add(socket)
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }

  let lastJson: string | null = null
  let lastId: string | null = null
  let lastPart: Buffer = Buffer.alloc(0)
  const eventPart = (json: string, trackedId: string | null): Buffer => {
    if (json !== lastJson || trackedId !== lastId) {
      lastPart = Buffer.from(dataFrame(json, trackedId))
      lastJson = json
      lastId = trackedId
    }
    return lastPart
  }

  const text = (ws: WebSocket, socket: Duplex, frame: string): void => {
    if (ws.readyState !== OPEN) return
    cork(socket)
    ws.send(frame)
  }
  const data = (ws: WebSocket, socket: Duplex, prefix: Buffer, json: string, trackedId: string | null): void => {
    if (ws.extensions !== '') return text(ws, socket, prefix.toString() + dataFrame(json, trackedId))
    if (ws.readyState !== OPEN) return
    cork(socket)
    socket.write(textFrame(prefix, eventPart(json, trackedId)))
  }
  return { text, data }
}

/** An unmasked, final text frame (RFC 6455 §5.2) whose payload is `a` then `b`. */
export function textFrame(a: Buffer, b: Buffer): Buffer {
  const length = a.length + b.length
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = 0x81 // FIN + text
  if (header === 2) frame[1] = length
  else if (header === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeBigUInt64BE(BigInt(length), 2)
  }
  a.copy(frame, header)
  b.copy(frame, header + a.length)
  return frame
}

export type StreamGateway = ReturnType<typeof createStreamGateway>
