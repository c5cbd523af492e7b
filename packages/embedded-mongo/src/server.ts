// TCP server: one FrameDecoder per connection, commands executed synchronously
// in arrival order, one reply per request. A malformed frame closes only the
// connection that sent it.

import net from 'node:net'
import type { CursorRegistry } from './cursors.ts'
import { runCommand } from './commands/index.ts'
import { CommandError, Codes, errorReply, toCommandError } from './errors.ts'
import type { Doc } from './keys.ts'
import type { Engine } from './store.ts'
import { FrameDecoder, MSG_MORE_TO_COME, OP_MSG, OP_QUERY, ProtocolError, type RawMessage, encodeOpMsg, encodeOpReply, parseOpMsg, parseOpQuery } from './wire.ts'

export interface ServerHooks {
  /** Runs after every command, before the reply is sent (persistence flushes here). */
  afterCommand?: () => void
  log?: (msg: string) => void
}

export class WireServer {
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  private nextConnectionId = 1
  private readonly startedAt = Date.now()
  private readonly engine: Engine
  private readonly cursors: CursorRegistry
  private readonly hooks: ServerHooks

  constructor(engine: Engine, cursors: CursorRegistry, hooks: ServerHooks = {}) {
    this.engine = engine
    this.cursors = cursors
    this.hooks = hooks
    this.server = net.createServer((socket) => this.onConnection(socket))
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        resolve((this.server.address() as net.AddressInfo).port)
      })
    })
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    await closed
  }

  private onConnection(socket: net.Socket): void {
    const connectionId = this.nextConnectionId++
    const decoder = new FrameDecoder()
    this.sockets.add(socket)
    socket.setNoDelay(true)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => socket.destroy()) // peer resets are normal; never crash the process
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const msg of decoder.push(chunk)) {
          const reply = this.handle(msg, connectionId)
          if (reply) socket.write(reply)
        }
      } catch (err) {
        if (!(err instanceof ProtocolError)) this.hooks.log?.(`embedded-mongo: connection ${connectionId} failed: ${String(err)}`)
        socket.destroy()
      }
    })
  }

  private execute(cmd: Doc, dbName: string, connectionId: number): Doc {
    let reply = runCommand(cmd, { engine: this.engine, cursors: this.cursors, dbName, connectionId, startedAt: this.startedAt })
    try {
      this.hooks.afterCommand?.()
    } catch (err) {
      // The change is applied in memory but could not be journaled: don't acknowledge it.
      reply = errorReply(new CommandError(Codes.InternalError, `embedded-mongo: failed to persist: ${toCommandError(err).message}`))
    }
    return reply
  }

  /** Returns the encoded reply, or undefined when the client asked for none. Throws ProtocolError on bad frames. */
  private handle(msg: RawMessage, connectionId: number): Buffer | undefined {
    if (msg.opCode === OP_MSG) {
      const { flags, command } = parseOpMsg(msg.body)
      const dbName = typeof command.$db === 'string' ? command.$db : 'admin'
      const reply = this.execute(command, dbName, connectionId)
      if (flags & MSG_MORE_TO_COME) return undefined // unacknowledged write (w: 0)
      return encode(reply, (doc) => encodeOpMsg(msg.requestId, doc))
    }
    if (msg.opCode === OP_QUERY) {
      // Legacy OP_QUERY is only used for the initial handshake on `admin.$cmd`.
      const { collection, query } = parseOpQuery(msg.body)
      if (!collection.endsWith('.$cmd')) {
        return encodeOpReply(msg.requestId, { $err: 'OP_QUERY is no longer supported', code: 352, ok: 0 })
      }
      const cmd = (query.$query && typeof query.$query === 'object' ? query.$query : query) as Doc
      const reply = this.execute(cmd, collection.slice(0, -'.$cmd'.length), connectionId)
      return encode(reply, (doc) => encodeOpReply(msg.requestId, doc))
    }
    throw new ProtocolError(`unsupported opCode ${msg.opCode}`)
  }
}

/** Serialises a reply; if that fails (e.g. too large), reply with an error instead of dropping the request. */
function encode(reply: Doc, enc: (doc: Doc) => Buffer): Buffer {
  try {
    return enc(reply)
  } catch (err) {
    return enc(errorReply(new CommandError(Codes.InternalError, `failed to encode reply: ${toCommandError(err).message}`)))
  }
}
