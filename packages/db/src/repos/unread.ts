import type { ObjectId } from 'mongodb'
import { batchedLookup, type LookupOptions } from '../batch.ts'
import type { Collections } from '../client.ts'
import { createEventRuns, type LogRow, type Run } from './event-runs.ts'

/** A room's unread range for one member: after their read marker, up to `throughSeq` (default: the end). */
export interface UnreadRange {
  roomId: ObjectId
  afterSeq: number
  throughSeq?: number | undefined
}

/** A room's unread count, and the seq it was taken as of (the newest event it read, else the range's start). */
export interface UnreadCount {
  unread: number
  through: number
}

/** Unread counts stop here (see createUnreadCounter). */
export const DEFAULT_UNREAD_COUNT_LIMIT = 1000

/** Events of rooms' logs kept for the next counts (see event-runs.ts): ~8 bytes each. */
export const DEFAULT_UNREAD_CACHE_EVENTS = 200_000

/** `$or` branches (one index range each) per query; more take more queries. */
const RANGES_PER_QUERY = 100

const CREATED = 'message.created'

/** One member's ranges, asked for with whoever else asked at the same time. */
interface Ask {
  id: number
  userId: ObjectId
  ranges: readonly UnreadRange[]
}

/** What one range still needs read: (from, to]; `last` is its bound, if it has one. */
interface Span {
  ask: number
  range: number
  roomId: ObjectId
  from: number
  to: number
  last: number | undefined
}

/** A stretch of a room's log to read: seqs in (from, to]. */
type Stretch = { roomId: ObjectId; from: number; to: number }

type EventRow = { roomId: ObjectId; seq: number; authorId?: ObjectId; data: { type: string } }
/** A room's events within a read: the kept run's part (seqs start + 1 … end) and the rows read now (outside it). */
type RoomEvents = { run: Run | undefined; end: number; read: LogRow[] }
type DeletedRow = { roomId: ObjectId; seq: number; authorId: ObjectId }

/**
 * What members have not read in their rooms: messages by others after their
 * read marker (up to `throughSeq`, if given); deleted ones do not count. The
 * counts come back in the order asked, each with the seq it is as of
 * (`through`), so a live count can add only the messages after it.
 *
 * Counting needs every event in a range, not only messages, for `through`.
 * Everyone asking at the same time shares the reads (batch.ts): the events of
 * the union of their ranges, one `$or` branch per stretch of a room, and the
 * deleted messages in it, then each member's count is taken from those in
 * memory. A crowd reconnecting at once — each client's room list and each
 * user's `events.user` load counts — reads each room's recent events once,
 * not once per member; one member alone costs two queries, as before.
 *
 * A long absence from a busy room would cost its whole backlog at every load,
 * so ranges are read a window of `2 × limit` events at a time, and a count
 * stops once it reaches the limit: below it a count is exact; at or above it,
 * it means "at least that many" (the app shows 99+ from 100), as of the window
 * it stopped at.
 *
 * The events read are kept (event-runs.ts: a room's log never changes once
 * written), so the next counts of a room read only what was written since:
 * a crowd's loads and lists, asked for over seconds, read each room's range
 * once between them, not once per batch.
 */
export function createUnreadCounter(c: Collections, { limit = DEFAULT_UNREAD_COUNT_LIMIT, cacheEvents = DEFAULT_UNREAD_CACHE_EVENTS, lookupWindowMs }: { limit?: number; cacheEvents?: number } & LookupOptions = {}) {
  const window = 2 * limit
  const runs = createEventRuns({ maxEvents: cacheEvents, maxRun: 4 * window })

  async function countAll(asks: readonly Ask[]): Promise<UnreadCount[][]> {
    const counts = asks.map((a) => a.ranges.map((r) => ({ unread: 0, through: r.afterSeq })))
    const users = asks.map((a) => a.userId.toHexString())
    let open = asks.flatMap((a, ask) => a.ranges.map((_, range) => ({ ask, range })))
    while (open.length > 0) {
      const spans: Span[] = open.map(({ ask, range }) => {
        const { roomId, throughSeq } = asks[ask]!.ranges[range]!
        const from = counts[ask]![range]!.through
        return { ask, range, roomId, from, to: throughSeq === undefined ? from + window : Math.min(throughSeq, from + window), last: throughSeq }
      })
      const { events, deleted } = await readStretches(stretchesOf(spans))
      const next: typeof open = []
      for (const s of spans) {
        const user = users[s.ask]!
        const count = counts[s.ask]![s.range]!
        const key = s.roomId.toHexString()
        const room = events.get(key)
        const take = (seq: number, by: string | null) => {
          if (by !== null && by !== user) count.unread++
          count.through = Math.max(count.through, seq)
        }
        if (room?.run) {
          const { start, by } = room.run
          for (let seq = Math.max(s.from, start) + 1; seq <= Math.min(s.to, room.end); seq++) take(seq, by[seq - start - 1] ?? null)
        }
        for (const e of within(room?.read, s)) take(e.seq, e.by)
        for (const d of within(deleted.get(key), s)) if (d.authorId.toHexString() !== user) count.unread--
        // Seqs are dense: a window read to its end may have more after it.
        if (count.through === s.to && s.to !== s.last && count.unread < limit) next.push(s)
      }
      open = next
    }
    return counts
  }

  /** The spans of each room merged where they overlap or touch: what to read, each event once. */
  function stretchesOf(spans: readonly Span[]): Stretch[] {
    const byRoom = new Map<string, Span[]>()
    group(byRoom, spans.filter((s) => s.to > s.from))
    const stretches: Stretch[] = []
    for (const list of byRoom.values()) {
      list.sort((a, b) => a.from - b.from)
      let current: Stretch = { roomId: list[0]!.roomId, from: list[0]!.from, to: list[0]!.to }
      for (const s of list.slice(1)) {
        if (s.from <= current.to) current.to = Math.max(current.to, s.to)
        else {
          stretches.push(current)
          current = { roomId: s.roomId, from: s.from, to: s.to }
        }
      }
      stretches.push(current)
    }
    return stretches
  }

  /**
   * The events and the deleted messages of the stretches, by room, ascending
   * seq. Only the events outside a room's kept run are read, and what they
   * add to it is kept.
   */
  async function readStretches(stretches: readonly Stretch[]) {
    const events = new Map<string, RoomEvents>()
    const pieces: Stretch[] = []
    for (const s of stretches) {
      const key = s.roomId.toHexString()
      let room = events.get(key)
      if (!room) {
        const run = runs.get(key)
        room = { run, end: run ? run.start + run.by.length : 0, read: [] }
        events.set(key, room)
      }
      const { run, end } = room
      if (!run || s.from > end || s.to <= run.start) {
        pieces.push(s)
        continue
      }
      if (s.from < run.start) pieces.push({ roomId: s.roomId, from: s.from, to: run.start })
      if (s.to > end) pieces.push({ roomId: s.roomId, from: end, to: s.to })
    }
    const [rows, gone] = await Promise.all([
      inChunks(pieces, ($or) => c.events.find({ $or }, { projection: { _id: 0, roomId: 1, seq: 1, authorId: 1, 'data.type': 1 } }).toArray() as Promise<EventRow[]>),
      inChunks(stretches, ($or) => c.messages.find({ $or, deleted: true }, { projection: { _id: 0, roomId: 1, seq: 1, authorId: 1 } }).toArray() as Promise<DeletedRow[]>),
    ])
    for (const row of rows) {
      const by = row.data.type === CREATED ? (row.authorId?.toHexString() ?? '') : null
      events.get(row.roomId.toHexString())!.read.push({ seq: row.seq, by })
    }
    const deleted = new Map<string, DeletedRow[]>()
    group(deleted, gone)
    for (const room of events.values()) room.read.sort((a, b) => a.seq - b.seq)
    for (const list of deleted.values()) list.sort((a, b) => a.seq - b.seq)
    for (const p of pieces) runs.add(p.roomId.toHexString(), p.from, [...within(events.get(p.roomId.toHexString())!.read, p)])
    return { events, deleted }
  }

  let asked = 0
  const shared = batchedLookup<Ask, { id: number; counts: UnreadCount[] }>({
    crowdWindowMs: lookupWindowMs,
    key: (a) => String(a.id),
    fetch: async (batch) => {
      const counts = await countAll(batch)
      return batch.map((a, i) => ({ id: a.id, counts: counts[i]! }))
    },
    keyOf: (r) => String(r.id),
  })

  /** The member's unread count in each range, in the order asked. */
  async function unreadCounts(userId: ObjectId, ranges: readonly UnreadRange[]): Promise<UnreadCount[]> {
    if (ranges.length === 0) return []
    return (await shared({ id: ++asked, userId, ranges }))!.counts
  }

  return { unreadCounts }
}

/** Reads the stretches `RANGES_PER_QUERY` at a time, one `$or` branch each. */
async function inChunks<T>(stretches: readonly Stretch[], read: ($or: object[]) => Promise<T[]>): Promise<T[]> {
  let rows: T[] = []
  for (let i = 0; i < stretches.length; i += RANGES_PER_QUERY) {
    const $or = stretches.slice(i, i + RANGES_PER_QUERY).map((s) => ({ roomId: s.roomId, seq: { $gt: s.from, $lte: s.to } }))
    rows = rows.concat(await read($or))
  }
  return rows
}

function group<T extends { roomId: ObjectId }>(into: Map<string, T[]>, rows: readonly T[]): void {
  for (const row of rows) {
    const key = row.roomId.toHexString()
    const list = into.get(key)
    if (list) list.push(row)
    else into.set(key, [row])
  }
}

/** The rows of a room's ascending list with seq in (from, to]. */
function* within<T extends { seq: number }>(rows: readonly T[] | undefined, { from, to }: { from: number; to: number }): Generator<T> {
  if (!rows) return
  let lo = 0
  let hi = rows.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (rows[mid]!.seq <= from) lo = mid + 1
    else hi = mid
  }
  for (let i = lo; i < rows.length && rows[i]!.seq <= to; i++) yield rows[i]!
}
