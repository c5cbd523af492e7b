// MongoDB wire-protocol framing: splits a TCP byte stream into messages and
// encodes replies. Only what the official driver sends is understood:
// OP_QUERY (the legacy handshake) and OP_MSG (everything else).
// https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/

import { BSON, type Document } from 'bson'

export const OP_REPLY = 1
export const OP_QUERY = 2004
export const OP_MSG = 2013

export const MAX_MESSAGE_BYTES = 48_000_000
const HEADER = 16

const MSG_CHECKSUM_PRESENT = 1
export const MSG_MORE_TO_COME = 2

/** A malformed frame: the connection that sent it is closed. */
export class ProtocolError extends Error {}

// Same decoding options everywhere so stored documents always look alike.
const DESERIALIZE: BSON.DeserializeOptions = { promoteLongs: true, promoteValues: true, promoteBuffers: false }

export function decodeDoc(buf: Uint8Array): Document {
  return BSON.deserialize(buf, DESERIALIZE)
}

export interface RawMessage {
  requestId: number
  responseTo: number
  opCode: number
  body: Buffer // bytes after the header
}

/** Accumulates chunks and yields complete messages. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): RawMessage[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    const out: RawMessage[] = []
    while (this.buf.length >= 4) {
      const len = this.buf.readInt32LE(0)
      if (len < HEADER || len > MAX_MESSAGE_BYTES) throw new ProtocolError(`invalid message length ${len}`)
      if (this.buf.length < len) break
      out.push({
        requestId: this.buf.readInt32LE(4),
        responseTo: this.buf.readInt32LE(8),
        opCode: this.buf.readInt32LE(12),
        body: this.buf.subarray(HEADER, len),
      })
      this.buf = this.buf.subarray(len)
    }
    return out
  }
}

/** Reads one BSON document at `off`, validating its length against the buffer. */
function readDoc(buf: Buffer, off: number, end: number): [Document, number] {
  if (off + 5 > end) throw new ProtocolError('truncated document')
  const len = buf.readInt32LE(off)
  if (len < 5 || off + len > end) throw new ProtocolError('invalid document length')
  try {
    return [decodeDoc(buf.subarray(off, off + len)), off + len]
  } catch (err) {
    throw new ProtocolError(`invalid BSON: ${(err as Error).message}`)
  }
}

function readCString(buf: Buffer, off: number, end: number): [string, number] {
  const nul = buf.indexOf(0, off)
  if (nul < 0 || nul >= end) throw new ProtocolError('unterminated cstring')
  return [buf.toString('utf8', off, nul), nul + 1]
}

export interface ParsedMsg {
  flags: number
  /** Body document with kind-1 document sequences merged in as arrays. */
  command: Document
}

export function parseOpMsg(body: Buffer): ParsedMsg {
  if (body.length < 5) throw new ProtocolError('OP_MSG too short')
  const flags = body.readUInt32LE(0)
  // The optional CRC-32C trailer is tolerated but not verified (TCP already checksums).
  const end = flags & MSG_CHECKSUM_PRESENT ? body.length - 4 : body.length
  let off = 4
  let command: Document | undefined
  const sequences: [string, Document[]][] = []
  while (off < end) {
    const kind = body[off++]
    if (kind === 0) {
      if (command) throw new ProtocolError('multiple kind-0 sections')
      ;[command, off] = readDoc(body, off, end)
    } else if (kind === 1) {
      if (off + 4 > end) throw new ProtocolError('truncated document sequence')
      const size = body.readInt32LE(off)
      const seqEnd = off + size
      if (size < 5 || seqEnd > end) throw new ProtocolError('invalid document sequence size')
      let id: string
      ;[id, off] = readCString(body, off + 4, seqEnd)
      const docs: Document[] = []
      while (off < seqEnd) {
        let d: Document
        ;[d, off] = readDoc(body, off, seqEnd)
        docs.push(d)
      }
      sequences.push([id, docs])
    } else throw new ProtocolError(`unknown OP_MSG section kind ${String(kind)}`)
  }
  if (!command) throw new ProtocolError('OP_MSG without body section')
  for (const [id, docs] of sequences) command[id] = docs
  return { flags, command }
}

export interface ParsedQuery {
  collection: string
  query: Document
}

export function parseOpQuery(body: Buffer): ParsedQuery {
  // flags(4) | fullCollectionName cstring | numberToSkip(4) | numberToReturn(4) | query
  const [collection, off] = readCString(body, 4, body.length)
  const [query] = readDoc(body, off + 8, body.length)
  return { collection, query }
}

function header(len: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(HEADER)
  h.writeInt32LE(len, 0)
  h.writeInt32LE(requestId, 4)
  h.writeInt32LE(responseTo, 8)
  h.writeInt32LE(opCode, 12)
  return h
}

let nextRequestId = 1
function requestId(): number {
  nextRequestId = (nextRequestId % 0x7fffffff) + 1
  return nextRequestId
}

export function encodeOpMsg(responseTo: number, doc: Document): Buffer {
  const bson = BSON.serialize(doc)
  const prefix = Buffer.alloc(5) // flagBits = 0, section kind 0
  return Buffer.concat([header(HEADER + 5 + bson.length, requestId(), responseTo, OP_MSG), prefix, bson])
}

export function encodeOpReply(responseTo: number, doc: Document): Buffer {
  const bson = BSON.serialize(doc)
  const fields = Buffer.alloc(20) // responseFlags, cursorID(8), startingFrom, numberReturned
  fields.writeInt32LE(1, 16)
  return Buffer.concat([header(HEADER + 20 + bson.length, requestId(), responseTo, OP_REPLY), fields, bson])
}
