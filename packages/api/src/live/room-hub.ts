/**
 * The room hub: one fan-out per room per node.
 *
 * Each room with local subscribers has one bus subscription and one ordered
 * pipeline here, however many people watch it. An event is checked, ordered
 * and serialised once, then handed to every live subscriber with the same
 * JSON string; a subscriber is a small record in a Set, not a generator.
 *
 * Guarantees (docs/api.md, events.room): every subscriber gets the room's
 * events exactly once and in seq order, from the position it resumed at. The
 * bus is only a hint: a gap in seqs, a resync (bus reconnect, lost heartbeat,
 * the periodic safety net) or a subscriber behind the room is filled from the
 * event log — once per room, not once per subscriber. Recent events are kept
 * in a small per-room buffer, so a crowd of clients resuming together (a node
 * died and they all moved here) is mostly served without a database read.
 */
import { TRPCError } from '@trpc/server'
import type { Bus } from '@parley/bus'
import { ObjectId, type Database, type EventDoc, type RoomDoc } from '@parley/db'
import type { RoomEvent, RoomStreamEvent } from '@parley/schemas'
import { roomChannel, type RoomBusMessage } from '../access.ts'
import type { ApiMetrics } from '../context.ts'

/** Where a subscription's events go: the WebSocket fast path, or a tRPC async generator. */
export interface RoomSink {
  /** `json` is `JSON.stringify(event)`, computed once per event and shared by every sink. */
  push(event: RoomStreamEvent, json: string): void
  /** No more events: the user left the room (`error` null) or the stream failed. */
  end(error: unknown): void
}

export interface RoomStream {
  /** Stop delivering; safe to call more than once. */
  close(): void
}

export interface RoomHubOptions {
  database: Database
  bus: Bus
  metrics?: ApiMetrics
  /** Resuming further behind than this gets one `reset` instead of a replay. */
  resumeMaxEvents: number
  /** Recent events kept per watched room for resuming clients (0: always read the log). */
  replayBufferEvents: number
  /**
   * How long an event that arrives ahead of its room's next seq waits for the
   * missing ones to come over the bus before they are read from the log (0:
   * read at once). Two nodes appending to one room publish in the order their
   * writes are acknowledged, not committed, so the one before is usually a
   * few milliseconds behind on the bus.
   */
  gapWaitMs: number
}

export type RoomHub = ReturnType<typeof createRoomHub>

const REPLAY_BATCH = 200
/**
 * A room attached on this node starts its replay buffer with this many of the
 * log's newest events (fewer if ROOM_REPLAY_BUFFER is smaller), read in the
 * query that finds its latest seq. A room is usually attached because
 * someone resumes in it, and when a node dies the room's whole crowd resumes
 * here a few events behind: each of them read the log on their own before.
 */
const ATTACH_READ_EVENTS = 32
/** A subscriber behind the room whose next event the log does not return yet (should not happen): retry this often, this many times. */
const CATCH_UP_RETRY_MS = 25
const CATCH_UP_ATTEMPTS = 40

interface Subscriber {
  readonly userId: string
  readonly sink: RoomSink
  /** Seq of the last event this subscriber got (or was told to skip to by a reset). */
  last: number
  /** Caught up with the room: gets events as the room delivers them. */
  live: boolean
  closed: boolean
}

interface Recent {
  seq: number
  event: RoomEvent
  json: string
}

type Work =
  | { kind: 'bus'; msg: RoomBusMessage }
  | { kind: 'resync'; at: number }
  /** The log holds events up to `through` (a resync found the room behind): deliver what the bus has not by now. */
  | { kind: 'fill'; through: number }

interface Room {
  readonly id: string
  readonly oid: ObjectId
  readonly epoch: string
  readonly subscribers: Set<Subscriber>
  /** Seq of the last event delivered to live subscribers (-1 until the log was read). */
  last: number
  /** Resolves once the bus subscription is confirmed and `last` is read from the log. */
  ready: Promise<void>
  failed: unknown
  /** Work waiting behind an async step (a gap fill or a resync), in arrival order. */
  queue: Work[]
  busy: boolean
  /** Set while a gap waits for the bus: called when work is queued. */
  wake: (() => void) | null
  /** The last events delivered, contiguous, oldest first. */
  recent: Recent[]
  unsubscribe: (() => void) | null
  detached: boolean
}

export function createRoomHub(options: RoomHubOptions) {
  const { database, bus, metrics, resumeMaxEvents, replayBufferEvents, gapWaitMs } = options
  const log = database.repos.events
  const rooms = new Map<string, Room>()

  // A resync asks the log where every watched room stands. The question is
  // asked outside the rooms' pipelines: queued in them, every room's live
  // events waited behind its query (hundreds of rooms, a few queries at a
  // time: a periodic pause of up to a second). Only a room found behind gets
  // work in its pipeline: a fill up to the seq found, in order.
  const stopResync = bus.onResync(() => {
    const at = Date.now()
    for (const room of rooms.values()) void checkBehind(room, at)
  })

  async function checkBehind(room: Room, at: number): Promise<void> {
    let latest: number
    try {
      await room.ready
      latest = await log.latestSeqShared(room.oid, at)
    } catch {
      // Let the pipeline try, and fail the room's streams if the log stays unreadable.
      return enqueue(room, { kind: 'resync', at })
    }
    if (latest > room.last) enqueue(room, { kind: 'fill', through: latest })
  }

  function roomFor(doc: RoomDoc): Room {
    const id = doc._id.toHexString()
    let room = rooms.get(id)
    if (room) return room
    room = {
      id,
      oid: doc._id,
      epoch: doc.epoch,
      subscribers: new Set(),
      last: -1,
      ready: Promise.resolve(),
      failed: null,
      queue: [],
      busy: true, // until ready: bus traffic waits in the queue
      wake: null,
      recent: [],
      unsubscribe: null,
      detached: false,
    }
    const r = room
    rooms.set(id, r)
    r.ready = (async () => {
      // Attach to the bus before reading the log: nothing committed after the read is missed.
      const off = await bus.subscribe(roomChannel(id), (msg) => enqueue(r, { kind: 'bus', msg: msg as RoomBusMessage }))
      if (r.detached) return off()
      r.unsubscribe = off
      const newest = await log.newest(r.oid, Math.max(1, Math.min(replayBufferEvents, ATTACH_READ_EVENTS)))
      r.last = newest[0]?.seq ?? 0
      if (replayBufferEvents > 0) r.recent = contiguousTail(newest)
    })().then(
      // Work that arrived while the room was getting ready waited in its queue.
      () => run(r, Promise.resolve()),
      (err: unknown) => {
        r.failed = err
        failRoom(r, err)
      },
    )
    return r
  }

  function detach(room: Room): void {
    if (room.detached) return
    room.detached = true
    if (rooms.get(room.id) === room) rooms.delete(room.id)
    room.unsubscribe?.()
    room.unsubscribe = null
    room.wake?.() // a gap waiting for the bus: nobody is left to fill it for
  }

  function enqueue(room: Room, work: Work): void {
    if (room.detached) return
    if (room.busy) {
      room.queue.push(work)
      room.wake?.()
      return
    }
    // The common case — the next seq, nothing pending — is handled synchronously.
    const pending = handle(room, work)
    if (pending) void run(room, pending)
  }

  /**
   * Works through the queue; only one runs per room, so the room's order holds.
   * The loop is inline so that finding the queue empty and clearing `busy`
   * happen in one step: returning from a helper first would leave microtask
   * turns in between in which work is queued behind a run that has ended.
   */
  async function run(room: Room, first: Promise<void>): Promise<void> {
    room.busy = true
    try {
      await first
      while (room.queue.length > 0 && !room.detached) {
        const pending = handle(room, room.queue.shift()!)
        if (pending) await pending
      }
    } catch (err) {
      failRoom(room, err)
    } finally {
      room.busy = false
    }
  }

  /** The log could not be read: every subscriber's stream fails (clients resubscribe and resume). */
  function failRoom(room: Room, err: unknown): void {
    detach(room)
    for (const sub of room.subscribers) finish(room, sub, err)
  }

  /** Returns a promise only when the work needs the database. */
  function handle(room: Room, work: Work): Promise<void> | void {
    if (work.kind === 'resync') return resync(room, work.at)
    // Often an event still on its way over the bus, delivered by now: then nothing to read.
    if (work.kind === 'fill') return work.through > room.last ? fillFromLog(room, work.through + 1) : undefined
    const { event, at } = work.msg
    if (event.type === 'typing') {
      const json = JSON.stringify(event)
      for (const sub of room.subscribers) if (sub.live && sub.userId !== event.user.id) sub.sink.push(event, json)
      return
    }
    if (event.type === 'reset') return
    // Events from other nodes keep this node's next-seq guess current (fewer append conflicts).
    log.observe(room.oid, event.seq)
    if (event.seq <= room.last) return
    if (event.seq === room.last + 1) return deliver(room, event, at)
    return fillGap(room, event, at)
  }

  async function fillGap(room: Room, event: RoomEvent, at: number): Promise<void> {
    await awaitBus(room, event.seq)
    if (room.detached) return
    if (event.seq > room.last + 1) await fillFromLog(room, event.seq)
    if (event.seq === room.last + 1) deliver(room, event, at)
    // Still a hole (lower seqs are readable before higher ones, so this should not happen): look again shortly.
    else if (event.seq > room.last) setTimeout(() => enqueue(room, { kind: 'resync', at: Date.now() }), CATCH_UP_RETRY_MS).unref()
  }

  /**
   * Delivers the events before `seq` as they come over the bus (they queue
   * behind this gap, so they are taken out of the queue by seq), waiting at
   * most `gapWaitMs` for them; whatever is still missing then is read from
   * the log by the caller. Under load, a read per gap on every node was a
   * share of the database's work that grew with the load itself.
   */
  async function awaitBus(room: Room, seq: number): Promise<void> {
    if (gapWaitMs <= 0) return
    const deadline = performance.now() + gapWaitMs
    while (room.last + 1 < seq && !room.detached) {
      const next = takeQueued(room, room.last + 1)
      // The room's next event: handled at once, as if it had not been queued.
      if (next) {
        void handle(room, next)
        continue
      }
      const left = deadline - performance.now()
      if (left <= 0) return
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          room.wake = null
          resolve()
        }
        const timer = setTimeout(done, left)
        room.wake = done
      })
    }
  }

  /** Removes and returns the queued bus copy of the room's event `seq`, if it has arrived. */
  function takeQueued(room: Room, seq: number): Work | null {
    const i = room.queue.findIndex((w) => w.kind === 'bus' && w.msg.event.type !== 'typing' && w.msg.event.type !== 'reset' && w.msg.event.seq === seq)
    return i < 0 ? null : room.queue.splice(i, 1)[0]!
  }

  async function resync(room: Room, at: number): Promise<void> {
    // Most resyncs find nothing new: one shared query per room tells.
    const latest = await log.latestSeqShared(room.oid, at)
    if (latest > room.last) await fillFromLog(room, latest + 1)
  }

  /** Delivers what the log holds after `room.last`, up to `before` (exclusive). */
  async function fillFromLog(room: Room, before: number): Promise<void> {
    if (before - 1 - room.last > resumeMaxEvents) {
      // Too far behind to replay (e.g. this node was cut off for long): everyone starts over.
      room.last = before - 1
      room.recent = []
      for (const sub of room.subscribers) if (sub.live && sub.last < room.last) pushReset(room, sub, room.last)
      return
    }
    // At most resumeMaxEvents here, so one read.
    const docs = await log.between(room.oid, room.last, before)
    for (const doc of docs) {
      if (room.detached || doc.seq !== room.last + 1) return
      deliver(room, doc.data, doc.createdAt.getTime())
    }
  }

  /** The log's newest events (newest first) as a replay buffer: oldest first, and only the run of consecutive seqs at the top. */
  function contiguousTail(newest: EventDoc[]): Recent[] {
    const recent: Recent[] = []
    for (const doc of newest) {
      if (recent.length > 0 && doc.seq !== recent[recent.length - 1]!.seq - 1) break
      recent.push({ seq: doc.seq, event: doc.data, json: JSON.stringify(doc.data) })
    }
    return recent.reverse()
  }

  /** The room's next event: to every live subscriber, serialised once. */
  function deliver(room: Room, event: RoomEvent, at: number): void {
    room.last = event.seq
    if (event.type === 'member.left') confirmIfPast(room, event.userId, event.seq)
    const json = JSON.stringify(event)
    if (replayBufferEvents > 0) {
      room.recent.push({ seq: event.seq, event, json })
      if (room.recent.length > replayBufferEvents) room.recent.splice(0, room.recent.length - replayBufferEvents)
    }
    let delivered = 0
    for (const sub of room.subscribers) {
      if (!sub.live || event.seq <= sub.last) continue
      send(room, sub, event, json)
      delivered++
    }
    metrics?.eventDelivered(delivered)
    metrics?.fanoutLatency((Date.now() - at) / 1000)
  }

  function send(room: Room, sub: Subscriber, event: RoomEvent, json: string): void {
    sub.last = event.seq
    sub.sink.push(event, json)
    // Removed from the room: this stream ends here.
    if (event.type === 'member.left' && event.userId === sub.userId) finish(room, sub, null)
  }

  function finish(room: Room, sub: Subscriber, error: unknown): void {
    if (sub.closed) return
    remove(room, sub)
    sub.sink.end(error)
  }

  function remove(room: Room, sub: Subscriber): void {
    if (sub.closed) return
    sub.closed = true
    metrics?.subscriptionClosed()
    room.subscribers.delete(sub)
    if (room.subscribers.size === 0) detach(room)
  }

  /** Brings a new subscriber from its resume position up to the room, then makes it live. */
  async function catchUp(room: Room, sub: Subscriber, lastEventId: number | null): Promise<void> {
    await room.ready
    if (room.failed) throw room.failed
    if (lastEventId === null) {
      sub.last = room.last
      sub.live = true
      confirmMember(room, sub)
      return
    }
    sub.last = lastEventId
    // Resumed at or past its own member.left, which only a crafted lastEventId can be (see confirmMember).
    if (leftAtOrBefore(room, sub.userId, lastEventId)) confirmMember(room, sub)
    if (lastEventId > room.last) {
      // Ahead of what this node delivered: fine if the log has it (our bus copy is late), else the log was reset.
      const latest = await log.latestSeq(room.oid)
      if (lastEventId > latest) pushReset(room, sub, latest)
      else enqueue(room, { kind: 'resync', at: Date.now() })
    } else if (room.last - lastEventId > resumeMaxEvents) pushReset(room, sub, room.last)

    let attempts = 0
    while (!sub.closed) {
      if (sub.last >= room.last) {
        sub.live = true
        return
      }
      // Served from memory when the room still holds the events after sub.last.
      const first = room.recent[0]
      if (first && first.seq <= sub.last + 1) {
        for (let i = sub.last + 1 - first.seq; i < room.recent.length && !sub.closed; i++) {
          const r = room.recent[i]!
          send(room, sub, r.event, r.json)
        }
        continue
      }
      const docs = await log.after(room.oid, sub.last, REPLAY_BATCH)
      let progressed = false
      for (const doc of docs) {
        if (sub.closed || doc.seq !== sub.last + 1 || doc.seq > room.last) break
        send(room, sub, doc.data, JSON.stringify(doc.data))
        progressed = true
      }
      if (progressed) attempts = 0
      else if (++attempts > CATCH_UP_ATTEMPTS) throw new Error(`room ${room.id}: event ${sub.last + 1} is not readable`)
      else await new Promise((resolve) => setTimeout(resolve, CATCH_UP_RETRY_MS))
    }
  }

  /** Tells one subscriber to drop what it holds and start over at `seq`. */
  function pushReset(room: Room, sub: Subscriber, seq: number): void {
    sub.last = seq
    const reset: RoomStreamEvent = { type: 'reset', roomId: room.id, seq, epoch: room.epoch }
    sub.sink.push(reset, JSON.stringify(reset))
    confirmMember(room, sub)
  }

  /**
   * A subscriber placed at the room's current position (a fresh start, a
   * reset) skips the events before it — a member.left among them too, when
   * the user was removed after the caller checked their membership. Removal
   * deletes the membership before it appends member.left, so one read after
   * placing settles it: gone → the stream ends as for a non-member; still a
   * member → any later removal reaches the stream as its member.left.
   *
   * A resumed subscriber skips what its lastEventId covers. An honest client
   * never holds an id at or past its own member.left (its stream ended
   * there, and the next start is refused), but a crafted one could name it
   * in the moment between the caller's check and the removal. So a resume
   * at or past a member.left of its user that this node holds (recent
   * events), or one delivered here later, is read the same way: a read only
   * for a user who left the room recently, or came back.
   */
  function confirmMember(room: Room, sub: Subscriber): void {
    database.repos.rooms.membership(room.oid, new ObjectId(sub.userId)).then(
      (member) => {
        if (!member) finish(room, sub, new TRPCError({ code: 'NOT_FOUND', message: 'Room not found' }))
      },
      (err: unknown) => finish(room, sub, err),
    )
  }

  /** Whether the room's recent events hold `userId`'s member.left at or before `seq`. */
  function leftAtOrBefore(room: Room, userId: string, seq: number): boolean {
    for (const r of room.recent) {
      if (r.seq > seq) return false
      if (r.event.type === 'member.left' && r.event.userId === userId) return true
    }
    return false
  }

  /** Subscribers of the removed user already past their member.left (resumed there) would never get it. */
  function confirmIfPast(room: Room, userId: string, seq: number): void {
    for (const sub of room.subscribers) if (sub.userId === userId && sub.last >= seq) confirmMember(room, sub)
  }

  return {
    /**
     * Starts streaming `room` to `sink` for `userId` (membership already
     * checked): events after `lastEventId`, or from now when it is null.
     */
    open(doc: RoomDoc, userId: string, lastEventId: number | null, sink: RoomSink): RoomStream {
      const room = roomFor(doc)
      const sub: Subscriber = { userId, sink, last: -1, live: false, closed: false }
      room.subscribers.add(sub)
      metrics?.subscriptionOpened()
      catchUp(room, sub, lastEventId).catch((err: unknown) => finish(room, sub, err))
      return { close: () => remove(room, sub) }
    },
    /**
     * The newest seq this node has delivered in the room, or null while it is
     * not attached here. Every event up to it is in the log; later ones may be
     * too (on their way over the bus).
     */
    deliveredThrough(roomId: string): number | null {
      const room = rooms.get(roomId)
      return room && !room.detached && room.last >= 0 ? room.last : null
    },
    close(): void {
      stopResync()
      for (const room of [...rooms.values()]) detach(room)
    },
  }
}
