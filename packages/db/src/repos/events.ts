import { ObjectId } from 'mongodb'
import type { RoomEvent } from '@parley/schemas'
import type { Collections } from '../client.ts'
import type { EventDoc } from '../documents.ts'
import { INDEX, isDuplicateKey } from '../indexes.ts'
import { createInsertBatcher } from './insert-batcher.ts'

export type AppendResult =
  | { ok: true; event: EventDoc }
  /** The (room, author, clientId) key was taken: the original event is returned instead. */
  | { ok: false; duplicateOf: EventDoc }

export interface AppendOptions {
  /** Builds the event for the seq it will take (a retry after a seq conflict rebuilds it). */
  build: (seq: number) => RoomEvent
  idempotency?: { authorId: ObjectId; clientId: string }
  /** The event document's _id (a message.created event takes its message's id, so the message is found by id). */
  id?: ObjectId
}

const MAX_ATTEMPTS = 1000

/**
 * A room's event log. Seqs are dense and an event becomes readable only after
 * every lower seq of its room is readable: we insert at `last + 1` under the
 * unique (roomId, seq) index and retry on that conflict — never a counter
 * increment followed by a separate insert (seq 11 could land before 10).
 */
export function createEventLog(c: Collections) {
  // Last seq this process saw written per room: saves a read per append. A stale
  // hint only costs a conflict (and a read if the next seq is taken too); it can
  // never skip a seq because it only ever holds seqs that were committed.
  const hints = new Map<string, number>()
  // Appends to different rooms issued in the same event-loop turn share one insert command.
  const insertEvent = createInsertBatcher(c.events)

  async function latestSeq(roomId: ObjectId): Promise<number> {
    const doc = await c.events.find({ roomId }, { projection: { seq: 1 } }).sort({ seq: -1 }).limit(1).next()
    return doc?.seq ?? 0
  }

  // Appends to one room from this process run one at a time: racing them would
  // only turn into seq conflicts and retries. Other nodes still race us; the
  // unique index settles that.
  const tails = new Map<string, Promise<unknown>>()

  function append(roomId: ObjectId, options: AppendOptions): Promise<AppendResult> {
    const key = roomId.toHexString()
    const previous = tails.get(key) ?? Promise.resolve()
    const run = previous.then(() => appendNow(roomId, key, options))
    const tail = run.catch(() => {})
    tails.set(key, tail)
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key)
    })
    return run
  }

  async function appendNow(roomId: ObjectId, key: string, { build, idempotency, id }: AppendOptions): Promise<AppendResult> {
    let seq = (hints.get(key) ?? (await latestSeq(roomId))) + 1
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const doc: EventDoc = { _id: id ?? new ObjectId(), roomId, seq, data: build(seq), createdAt: new Date() }
      if (idempotency) Object.assign(doc, idempotency)
      try {
        await insertEvent(doc)
        if ((hints.get(key) ?? 0) < seq) hints.set(key, seq)
        if (hints.size > 100_000) hints.clear()
        return { ok: true, event: doc }
      } catch (err) {
        if (idempotency && isDuplicateKey(err, INDEX.eventsClientId)) {
          const original = await byClientId(roomId, idempotency.authorId, idempotency.clientId)
          if (original) return { ok: false, duplicateOf: original }
          continue
        }
        if (!isDuplicateKey(err, INDEX.eventsRoomSeq)) {
          hints.delete(key)
          throw err
        }
        // Another node took `seq`, so every seq up to it is committed. Its events
        // reach us over the bus meanwhile (observe()): start past what we have
        // seen by now. Otherwise it usually took just that one (both nodes
        // appended from the same hint): try the next without a read; a second
        // conflict with nothing new seen asks the log where it is.
        const seen = hints.get(key) ?? 0
        seq = seen >= seq ? seen + 1 : attempt === 0 ? seq + 1 : (await latestSeq(roomId)) + 1
      }
    }
    throw new Error(`could not append to room ${key}: too much contention`)
  }

  // Resync waves check every followed room at once; a few at a time keeps
  // them from queueing in front of the sends (they are a safety net, not urgent).
  const RESYNC_CONCURRENCY = 4
  let running = 0
  const waiting: (() => void)[] = []
  async function paced<T>(work: () => Promise<T>): Promise<T> {
    if (running >= RESYNC_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve))
    running++
    try {
      return await work()
    } finally {
      running--
      waiting.shift()?.()
    }
  }

  // Concurrent callers asking for the same room's latest seq share one query
  // (a resync wave would otherwise send one per subscriber). A caller only
  // joins a query that started at or after `notBefore`, so it never gets an
  // answer older than the moment it started caring.
  const latestInFlight = new Map<string, { startedAt: number; seq: Promise<number> }>()
  function latestSeqShared(roomId: ObjectId, notBefore: number): Promise<number> {
    const key = roomId.toHexString()
    const pending = latestInFlight.get(key)
    if (pending && pending.startedAt >= notBefore) return pending.seq
    const entry = { startedAt: Date.now(), seq: paced(() => latestSeq(roomId)) }
    latestInFlight.set(key, entry)
    void entry.seq.finally(() => {
      if (latestInFlight.get(key) === entry) latestInFlight.delete(key)
    }).catch(() => {})
    return entry.seq
  }

  /**
   * Tell the log a seq was committed elsewhere (another node's event seen on
   * the bus), so the next append here starts past it instead of colliding.
   */
  function observe(roomId: ObjectId, seq: number): void {
    const key = roomId.toHexString()
    if ((hints.get(key) ?? 0) < seq) hints.set(key, seq)
  }

  /** The event `authorId` appended to the room under `clientId` (its idempotency key), if any. */
  function byClientId(roomId: ObjectId, authorId: ObjectId, clientId: string): Promise<EventDoc | null> {
    return c.events.findOne({ roomId, authorId, clientId })
  }

  /** The room's newest `member.left` of `userId`, if any. */
  async function lastLeft(roomId: ObjectId, userId: ObjectId): Promise<EventDoc | null> {
    const [event] = await c.events.find({ roomId, 'data.type': 'member.left', 'data.userId': userId.toHexString() }).sort({ seq: -1 }).limit(1).toArray()
    return event ?? null
  }

  /** Events with seq > `after`, ascending, at most `limit`. */
  function after(roomId: ObjectId, after: number, limit: number): Promise<EventDoc[]> {
    return c.events.find({ roomId, seq: { $gt: after } }).sort({ seq: 1 }).limit(limit).toArray()
  }

  /** The room's newest events, at most `limit`, newest first. */
  function newest(roomId: ObjectId, limit: number): Promise<EventDoc[]> {
    return c.events.find({ roomId }).sort({ seq: -1 }).limit(limit).toArray()
  }

  /** Events with after < seq < before, ascending (gap filling). */
  function between(roomId: ObjectId, after: number, before: number): Promise<EventDoc[]> {
    return c.events.find({ roomId, seq: { $gt: after, $lt: before } }).sort({ seq: 1 }).toArray()
  }

  return { append, observe, byClientId, lastLeft, after, newest, between, latestSeq, latestSeqShared }
}
export type EventLog = ReturnType<typeof createEventLog>
