// Server-side cursors. A query result is materialised once (documents are
// immutable snapshots, see store.ts) and handed out in batches through
// getMore. Idle cursors are reaped after 10 minutes, like MongoDB's default.

import { BSON, Long } from 'bson'
import type { Doc } from './keys.ts'

const DEFAULT_FIRST_BATCH = 101
/** Keep replies comfortably below maxMessageSizeBytes (48MB) and the 16MB reply document limit. */
const MAX_BATCH_BYTES = 15 * 1024 * 1024
const IDLE_MS = 10 * 60 * 1000

interface OpenCursor {
  ns: string
  docs: Doc[]
  pos: number
  lastUsed: number
}

export interface CursorReply {
  cursor: { firstBatch?: Doc[]; nextBatch?: Doc[]; id: Long; ns: string }
  ok: 1
}

function takeBatch(c: OpenCursor, batchSize: number): Doc[] {
  const max = batchSize > 0 ? batchSize : Infinity
  const out: Doc[] = []
  let bytes = 0
  while (c.pos < c.docs.length && out.length < max) {
    const doc = c.docs[c.pos] as Doc
    bytes += BSON.calculateObjectSize(doc)
    if (bytes > MAX_BATCH_BYTES && out.length > 0) break
    out.push(doc)
    c.pos++
  }
  return out
}

export class CursorRegistry {
  private readonly cursors = new Map<number, OpenCursor>()
  private readonly timer: NodeJS.Timeout

  constructor() {
    this.timer = setInterval(() => this.reap(), 60_000)
    this.timer.unref()
  }

  /** First batch of a result; registers a cursor only if documents remain. */
  open(ns: string, docs: Doc[], opts: { batchSize?: number | undefined; singleBatch?: boolean | undefined } = {}): CursorReply {
    const c: OpenCursor = { ns, docs, pos: 0, lastUsed: Date.now() }
    const firstBatch = takeBatch(c, opts.batchSize ?? DEFAULT_FIRST_BATCH)
    let id = 0
    if (c.pos < docs.length && !opts.singleBatch) {
      do id = Math.floor(Math.random() * Number.MAX_SAFE_INTEGER) + 1
      while (this.cursors.has(id))
      this.cursors.set(id, c)
    }
    return { cursor: { firstBatch, id: Long.fromNumber(id), ns }, ok: 1 }
  }

  getMore(id: number, ns: string, batchSize: number | undefined): CursorReply | undefined {
    const c = this.cursors.get(id)
    if (!c || c.ns !== ns) return undefined
    c.lastUsed = Date.now()
    const nextBatch = takeBatch(c, batchSize ?? 0)
    let outId = id
    if (c.pos >= c.docs.length) {
      this.cursors.delete(id)
      outId = 0
    }
    return { cursor: { nextBatch, id: Long.fromNumber(outId), ns }, ok: 1 }
  }

  kill(id: number): boolean {
    return this.cursors.delete(id)
  }

  private reap(): void {
    const cutoff = Date.now() - IDLE_MS
    for (const [id, c] of this.cursors) if (c.lastUsed < cutoff) this.cursors.delete(id)
  }

  close(): void {
    clearInterval(this.timer)
    this.cursors.clear()
  }
}
