// TCP server: one FrameDecoder per connection, commands executed synchronously
// in arrival order, one reply per request. A malformed frame closes only the
// connection that sent it.
//
// With a journal, replies are held back while journal records are pending and
// sent after the journal write (group commit): every command that arrives in
// one event-loop turn — from any connection — is applied in memory at once,
// then one write(2) covers all their records, then the replies go out in
// order. So an acknowledged write is still in the kernel's hands before its
// reply is sent (a SIGKILL loses nothing acknowledged), and no reply reveals
// data that is not yet journaled (reads in that turn wait too), but N writes
// arriving together cost one journal write instead of N.

import net from 'node:net'
import type { CursorRegistry } from './cursors.ts'
import { runCommand } from './commands/index.ts'
import { CommandError, Codes, errorReply, toCommandError } from './errors.ts'
import type { Doc } from './keys.ts'
import type { Engine } from './store.ts'
import { FrameDecoder, MSG_MORE_TO_COME, OP_MSG, OP_QUERY, ProtocolError, type RawMessage, encodeOpMsg, encodeOpReply, parseOpMsg, parseOpQuery } from './wire.ts'

/** The server's view of persistence (persistence.ts). */
export interface Journal {
  /** Records were journaled in memory and not yet written. */
  hasPending(): boolean
  /** Writes them; throws when that failed. */
  flush(): void
}

export interface ServerHooks {
  /** When set, replies wait for the journal write that covers their command (group commit, see above). */
  journal?: Journal
  log?: (msg: string) => void
}

interface HeldReply {
  socket: net.Socket
  reply: Buffer | undefined
  /** The reply to send instead when the journal write failed (undefined: the client wants none). */
  failed: (why: string) => Buffer | undefined
}

export class WireServer {
  private readonly server: net.Server
  private readonly sockets = new Set<net.Socket>()
  private nextConnectionId = 1
  private readonly startedAt = Date.now()
  private readonly engine: Engine
  private readonly cursors: CursorRegistry
  private readonly hooks: ServerHooks
  /** Replies waiting for the next journal write, in the order their commands ran. */
  private held: HeldReply[] = []
  private commitScheduled = false

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
        for (const msg of decoder.push(chunk)) this.respond(socket, msg, this.handle(msg, connectionId))
      } catch (err) {
        if (!(err instanceof ProtocolError)) this.hooks.log?.(`embedded-mongo: connection ${connectionId} failed: ${String(err)}`)
        socket.destroy()
      }
    })
  }

  /** Sends a reply now, or holds it for the journal write that must come first. */
  private respond(socket: net.Socket, msg: RawMessage, reply: Buffer | undefined): void {
    const journal = this.hooks.journal
    if (!journal || (this.held.length === 0 && !journal.hasPending())) {
      if (reply) socket.write(reply)
      return
    }
    this.held.push({ socket, reply, failed: (why) => (reply ? this.persistFailed(msg, why) : undefined) })
    if (!this.commitScheduled) {
      this.commitScheduled = true
      // After every connection that had data this turn has run its commands.
      setImmediate(() => this.commit())
    }
  }

  /** One journal write for everything held, then the held replies, in order. */
  private commit(): void {
    this.commitScheduled = false
    const held = this.held
    this.held = []
    let failure: string | undefined
    try {
      this.hooks.journal?.flush()
    } catch (err) {
      // Applied in memory but not journaled: acknowledge none of it.
      failure = toCommandError(err).message
      this.hooks.log?.(`embedded-mongo: failed to persist: ${failure}`)
    }
    for (const h of held) {
      const reply = failure === undefined ? h.reply : h.failed(failure)
      if (reply && !h.socket.destroyed) h.socket.write(reply)
    }
  }

  private persistFailed(msg: RawMessage, why: string): Buffer {
    const reply = errorReply(new CommandError(Codes.InternalError, `embedded-mongo: failed to persist: ${why}`))
    return msg.opCode === OP_MSG ? encodeOpMsg(msg.requestId, reply) : encodeOpReply(msg.requestId, reply)
  }

  private execute(cmd: Doc, dbName: string, connectionId: number): Doc {
    return runCommand(cmd, { engine: this.engine, cursors: this.cursors, dbName, connectionId, startedAt: this.startedAt })
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
