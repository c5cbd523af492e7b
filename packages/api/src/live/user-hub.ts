/**
 * `events.user` for every stream on this node.
 *
 * What a user's streams say is the same for all of them, so the node keeps one
 * record per user — their rooms and unread counts, loaded once when their
 * first stream starts, one subscription to their user channel — and one bus
 * subscription per room any of them follows. A stream is just a sink on its
 * user's record (and one presence connection). Before, each stream was a tRPC
 * async generator with its own queue, its own bus subscriptions and its own
 * unread counts, loaded again for every tab and every reconnect.
 *
 * What a stream receives:
 * - `room.activity` for each message in a room the user belongs to (the
 *   unread count is the user's: the count when the record was loaded plus
 *   messages by others since), and the user's own `room.activity` (markRead:
 *   its count is as of the log's latest seq when it was taken, and the record
 *   adds the messages after that seq it has already counted — the two arrive
 *   on different channels, in either order);
 * - `room.added` / `room.removed` (the record follows the room, or stops);
 * - `room.updated` when a followed room's name or topic changes (from the
 *   room's event of the same name);
 * - `profile.updated` when someone who shares a followed room changes their
 *   name (the user's own, on their user channel);
 * - `presence` of people who share a followed room of at most
 *   `presenceRoomMaxMembers` (one member set per room on the node, see
 *   room-members.ts, asked which rooms the changed user is in: the cost is the
 *   number of recipients, not of streams);
 * - `session.revoked` for its own session (or all of the user's), after which
 *   it ends. Another session's logout does not reach it.
 *
 * The node also knows each followed room's newest message, from the bus, so
 * a room list here need not read it (`newestMessagesFor`, used by rooms.list).
 * A list asked for while its user's stream waits for its load (a crowd
 * reconnecting) follows its rooms ahead of that load, so the crowd's lists
 * share one read of each room's newest message instead of one each.
 *
 * Not resumable: after a reconnect the client refetches rooms.list. After
 * the bus lost messages, each loaded user's rooms and counts are read again
 * and what changed is told (syncRooms).
 */
import pLimit from 'p-limit'
import { ObjectId } from '@parley/db'
import { PROFILES_CHANNEL, type ProfileNotice } from '@parley/auth'
import type { Bus, PresenceChange } from '@parley/bus'
import type { Database, NewestMessages } from '@parley/db'
import type { Message, RoomEvent, UserEvent } from '@parley/schemas'
import { roomChannel, userChannel, type RoomBusMessage } from '../access.ts'
import type { ApiMetrics } from '../context.ts'
import { createFollowers } from './followers.ts'
import { createRoomMembers } from './room-members.ts'

export interface UserStreamSink {
  /**
   * One event's JSON, in order, serialised once for all the streams it goes
   * to (the gateway writes it as is; only the tRPC procedure parses it).
   */
  push(json: string): void
  /** The stream is over: its session was revoked (no error), or it could not start. */
  end(error?: unknown): void
}

export interface UserStream {
  close(): void
}

export interface UserHubOptions {
  database: Database
  bus: Bus
  /** Users loaded at once (USER_STREAM_LOADS); the rest wait their turn. */
  loadConcurrency: number
  /** Presence travels through rooms of at most this many members (PRESENCE_ROOM_MAX_MEMBERS). */
  presenceRoomMaxMembers: number
  metrics?: Pick<ApiMetrics, 'userStreamsStarting'>
  /** After-a-loss reads that fail are tried again this long apart, doubling up to `max` (tests shorten it). */
  resyncRetryMs?: { first: number; max: number }
}

/**
 * A user's unread count in one room, kept current from two channels: messages
 * by others (the room's) and markRead counts (the user's), which arrive in
 * either order. A markRead count is as of the log's latest seq when it was
 * taken; messages after that seq already counted here are added to it, and
 * messages up to it are not counted again.
 */
export interface Unread {
  count: number
  /** The latest seq a markRead count covered: messages up to it are in that count (or read). */
  readThrough: number
  /** Seqs of messages by others counted since, newest last (a few: for the next markRead). */
  recent: number[]
}
/** Messages remembered for the next markRead (only those after its seq matter, and it is milliseconds old). */
const RECENT_MAX = 64

export function unreadFrom(count: number): Unread {
  return { count, readThrough: 0, recent: [] }
}

/** A message by someone else at `seq`. */
export function countMessage(state: Unread, seq: number): void {
  if (seq <= state.readThrough) return // in a markRead count already
  state.count++
  state.recent.push(seq)
  if (state.recent.length > RECENT_MAX) state.recent.shift()
}

/** A markRead's count (`unread`, as of `seq`). False when it is older than one applied already. */
export function countMarkRead(state: Unread, seq: number, unread: number): boolean {
  if (seq < state.readThrough) return false
  state.recent = state.recent.filter((s) => s > seq)
  const count = unread + state.recent.length
  // Two counts as of the same seq: the later read marker gives the smaller one.
  state.count = seq === state.readThrough ? Math.min(state.count, count) : count
  state.readThrough = seq
  return true
}

/** One user with streams on this node. */
interface UserRecord {
  readonly userId: string
  readonly streams: Set<Stream>
  /** The rooms followed, with the user's unread count in each. */
  readonly unread: Map<string, Unread>
  /** Settles once the rooms and counts are loaded and followed. */
  ready: Promise<void>
  /** The counts are loaded: until then messages are counted but not told (the count would be partial). */
  counted: boolean
  offChannel: (() => void) | null
  /** Its last stream closed (or loading failed): it is no longer kept. */
  gone: boolean
  /** A re-read after a bus loss waits for its turn: one that starts later covers any loss before it. */
  resyncQueued: boolean
  /** After-a-loss reads failed in a row, and the timer of the next try (one per user, however many losses). */
  resyncFailures: number
  resyncRetry: ReturnType<typeof setTimeout> | null
  /**
   * Rooms its room lists followed before its load did, held by a member that
   * hears nothing and tells no one (it has no streams and counts no room),
   * until the load follows the user's rooms itself.
   */
  ahead: { holder: UserRecord; rooms: Set<string> } | null
}

interface Stream {
  readonly user: UserRecord
  readonly sessionId: string
  readonly sink: UserStreamSink
  closed: boolean
  releasePresence: (() => Promise<void>) | null
}

/** What the auth package publishes on the user channel to revoke sessions. */
interface RevocationMessage {
  type: 'session.revoked'
  sessionIds?: string[] | 'all'
}

export function createUserHub({
  database,
  bus,
  loadConcurrency,
  presenceRoomMaxMembers,
  metrics,
  resyncRetryMs = { first: 1000, max: 30_000 },
}: UserHubOptions) {
  // A crowd reconnecting at once would otherwise put every user's queries in
  // flight together: memory for all of them, and everyone's stream late.
  const loads = pLimit(loadConcurrency)
  const members = createRoomMembers()
  const users = new Map<string, UserRecord>()
  /**
   * Each followed room's newest message as it was created, so that a room
   * list on this node need not read it (rooms.list: a reconnecting crowd asks
   * for every room's at once). It is known once a read made after
   * subscribing is in (a message published just before the subscription
   * could be newer than any heard), and from then on each message heard is
   * the newest. A bus resync (messages may have been lost) makes every room
   * unknown again until a read made after it is in, asked for by the next
   * list that wants the room.
   */
  const newestByRoom = new Map<string, { seq: number; message: Message | null; known: boolean; reading: boolean }>()
  let resyncs = 0
  let closed = false
  const offResync = bus.onResync((cause) => {
    resyncs++
    for (const newest of newestByRoom.values()) newest.known = false
    // What was lost may include a user's room.added or room.removed: each loaded user's rooms are read
    // again — when something is known to be lost, not at every safety-net interval (two queries a user).
    if (cause === 'interval') return
    for (const u of users.values()) if (u.counted) resyncUser(u)
  })

  /**
   * Reads `u`'s rooms again after a known loss. A failed read (MongoDB away
   * too) is tried again, 1, 2, 4 … s later and then every 30 s, until one
   * succeeds or the user's streams close: a room they were removed from
   * would otherwise keep reaching their list for as long as the stream
   * lasts. Ending the stream instead would stop it until the client
   * reconnects. Another loss while a try waits starts it at once (Redis back
   * may mean MongoDB is back too); a user has at most one try waiting.
   */
  function resyncUser(u: UserRecord): void {
    if (u.resyncRetry) clearTimeout(u.resyncRetry)
    u.resyncRetry = null
    if (u.resyncQueued) return
    u.resyncQueued = true
    loads(() => {
      u.resyncQueued = false
      return u.gone ? undefined : syncRooms(u, true)
    }).then(
      () => (u.resyncFailures = 0),
      () => {
        u.resyncFailures++
        if (closed || u.gone || u.resyncQueued || u.resyncRetry) return // a newer try is on its way
        const delay = Math.min(resyncRetryMs.first * 2 ** (u.resyncFailures - 1), resyncRetryMs.max)
        u.resyncRetry = setTimeout(() => resyncUser(u), delay)
        u.resyncRetry.unref?.()
      },
    )
  }

  function learnNewest(roomId: string, seq: number, message: Message | null, known = false): void {
    const newest = newestByRoom.get(roomId)
    if (!newest) {
      newestByRoom.set(roomId, { seq, message, known, reading: false })
      return
    }
    if (seq > newest.seq) Object.assign(newest, { seq, message })
    if (known) newest.known = true
  }

  /** Reads a followed room's newest message; it is known if no resync came meanwhile. */
  async function readNewest(roomId: string): Promise<void> {
    const since = resyncs
    const newest = await database.repos.messages.newestCreated(new ObjectId(roomId))
    if (rooms.members(roomId)) learnNewest(roomId, newest?.seq ?? 0, newest?.message ?? null, resyncs === since)
  }

  // One room followed by any number of this node's users: its bus channel, its member ids and its newest message, once.
  const rooms = createFollowers<UserRecord>(async (roomId) => {
    const off = await bus.subscribe(roomChannel(roomId), (payload) => onRoomMessage(roomId, payload as RoomBusMessage))
    members.set(roomId, []) // joins heard while the ids load count too
    // Both settle before a failure is cleaned up, so neither writes after it.
    const [ids, newest] = await Promise.allSettled([database.repos.rooms.memberIds(new ObjectId(roomId)), readNewest(roomId)])
    if (ids.status === 'rejected' || newest.status === 'rejected') {
      members.drop(roomId)
      newestByRoom.delete(roomId)
      off()
      throw ids.status === 'rejected' ? ids.reason : (newest as PromiseRejectedResult).reason
    }
    members.set(roomId, ids.value)
    return () => {
      off()
      members.drop(roomId)
      newestByRoom.delete(roomId)
    }
  })
  const offPresence = bus.presence.onChange(onPresence)
  // Auth subscribes the same channel on every node, and logs if that fails.
  const profiles = bus.subscribe(PROFILES_CHANNEL, (payload) => onProfile(payload as ProfileNotice))
  profiles.catch(() => {})

  function onRoomMessage(roomId: string, msg: RoomBusMessage): void {
    const event = msg.event
    // At receipt, once per node: a presence change right behind must see it.
    if (event.type === 'member.joined') members.joined(roomId, event.member.user.id)
    else if (event.type === 'member.left') members.left(roomId, event.userId)
    if (event.type !== 'message.created') {
      if (event.type === 'room.updated') tellRoomUpdated(event)
      return
    }
    learnNewest(roomId, event.seq, event.message)
    const followers = rooms.members(roomId)
    if (!followers) return
    const head = `{"type":"room.activity","roomId":${JSON.stringify(roomId)},"seq":${event.seq},"unread":`
    const tail = `,"lastMessage":${JSON.stringify(event.message)}}`
    for (const u of followers) {
      const state = u.unread.get(roomId)
      if (!state) continue
      if (event.message.author.id !== u.userId) countMessage(state, event.seq)
      if (u.counted) tell(u, head + state.count + tail)
    }
  }

  /**
   * A room's new name or topic, to every user here who follows the room, so
   * their room lists show it without the room open. Not only counted users:
   * unlike a count, the name is whole however far their load has got.
   */
  function tellRoomUpdated({ roomId, seq, name, topic, by }: Extract<RoomEvent, { type: 'room.updated' }>): void {
    const followers = rooms.members(roomId)
    if (!followers) return
    const json = JSON.stringify({ type: 'room.updated', roomId, seq, name, topic, by } satisfies UserEvent)
    for (const u of followers) if (u.unread.has(roomId)) tell(u, json)
  }


  function onUserMessage(u: UserRecord, event: UserEvent | RevocationMessage): void {
    if (event.type === 'session.revoked') {
      const { sessionIds } = event as RevocationMessage
      for (const s of [...u.streams]) {
        if (sessionIds !== 'all' && !sessionIds?.includes(s.sessionId)) continue
        push(s, '{"type":"session.revoked"}')
        close(s)
        s.sink.end()
      }
      return
    }
    if (event.type === 'room.added') follow(u, event.room.id, event.room.unread).catch((err: unknown) => failUser(u, err))
    else if (event.type === 'room.removed') unfollow(u, event.roomId)
    else if (event.type === 'room.activity') {
      const state = u.unread.get(event.roomId)
      if (state) {
        if (!countMarkRead(state, event.seq, event.unread)) return // an older markRead, overtaken
        event = { ...event, unread: state.count }
      }
    }
    tell(u, JSON.stringify(event))
  }

  function onPresence(change: PresenceChange): void {
    // In a big room everyone coming online would tell everyone else: n² frames.
    tellRoommates(change.userId, JSON.stringify({ type: 'presence', ...change } satisfies UserEvent), presenceRoomMaxMembers)
  }

  /**
   * A new name, to whoever here shares a followed room with its user (member
   * lists, a direct room's title). Renames are rare and rate-limited, so
   * unlike presence it goes to rooms of any size. The user's own streams hear
   * it on their user channel.
   */
  function onProfile({ user }: ProfileNotice): void {
    tellRoommates(user.id, JSON.stringify({ type: 'profile.updated', user } satisfies UserEvent))
  }

  /** To every stream here of each user who shares a followed room of at most `maxMembers` with `userId` (not them), once. */
  function tellRoommates(userId: string, json: string, maxMembers = Infinity): void {
    const told = new Set<UserRecord>()
    for (const roomId of members.roomsOf(userId)) {
      if (members.count(roomId) > maxMembers) continue
      for (const u of rooms.members(roomId) ?? []) {
        if (u.userId === userId || told.has(u)) continue
        told.add(u)
        tell(u, json)
      }
    }
  }

  /** To every stream of the user. */
  function tell(u: UserRecord, json: string): void {
    for (const s of u.streams) push(s, json)
  }

  function push(s: Stream, json: string): void {
    if (!s.closed) s.sink.push(json)
  }

  async function load(u: UserRecord): Promise<void> {
    const off = await bus.subscribe(userChannel(u.userId), (payload) => onUserMessage(u, payload as UserEvent))
    if (u.gone) return off()
    u.offChannel = off
    await syncRooms(u, false)
    u.counted = true
    letGoAhead(u)
  }

  /**
   * Follows the rooms `u` is in now, lets go of the others, and counts them.
   * At load nothing is told (the client reads its list); after a resync the
   * client is told what changed — `room.removed` (removed while the bus was
   * down, a room's messages would keep reaching a former member's list), and
   * `room.activity` for a count that moved or a room it does not list yet
   * (it then refetches its list). A room added or removed on the user's
   * channel while the memberships are read is newer than the read: left as
   * that event set it.
   */
  async function syncRooms(u: UserRecord, tellChanges: boolean): Promise<void> {
    const userId = new ObjectId(u.userId)
    const before = new Set(u.unread.keys())
    const memberships = await database.repos.rooms.membershipsOf(userId)
    if (u.gone) return
    const current = new Set(memberships.map((m) => m.roomId.toHexString()))
    const removed = [...before].filter((roomId) => !current.has(roomId) && u.unread.has(roomId))
    for (const roomId of removed) unfollow(u, roomId)
    const toldRemoved = tellChanges ? tellRemoved(u, removed) : undefined
    const added = new Set([...current].filter((roomId) => !before.has(roomId) && !u.unread.has(roomId)))
    // Follow first, then count: a message written in between is heard, and
    // counting each count as of its seq (like a markRead's) adds exactly the
    // messages after it — counted first and followed after, it was lost.
    await Promise.all([...added].map((roomId) => follow(u, roomId, 0)))
    const counts = await database.repos.rooms.unreadOf(userId, memberships)
    memberships.forEach((m, i) => {
      const roomId = m.roomId.toHexString()
      const state = u.unread.get(roomId)
      if (!state) return
      const counted = state.count
      const { through, unread } = counts[i]!
      if (countMarkRead(state, through, unread) && tellChanges && (state.count !== counted || added.has(roomId))) {
        tell(u, JSON.stringify({ type: 'room.activity', roomId, seq: through, unread: state.count, lastMessage: null } satisfies UserEvent))
      }
    })
    await toldRemoved
  }

  /** `room.removed` for rooms a resync found gone, with the reason from the room's log (a kick shows the client's "you were removed"). */
  async function tellRemoved(u: UserRecord, roomIds: string[]): Promise<void> {
    const userId = new ObjectId(u.userId)
    const reasons = await Promise.all(roomIds.map((roomId) => database.repos.rooms.leaveReason(new ObjectId(roomId), userId).catch(() => 'left' as const)))
    roomIds.forEach((roomId, i) => {
      // Joined again while the reason was read: the newer room.added stands.
      if (!u.gone && !u.unread.has(roomId)) tell(u, JSON.stringify({ type: 'room.removed', roomId, reason: reasons[i]! } satisfies UserEvent))
    })
  }

  /** Follows a room for `u`'s room list ahead of its load (see UserRecord.ahead). */
  async function followAhead(u: UserRecord, roomId: string): Promise<void> {
    u.ahead ??= { holder: newRecord(u.userId), rooms: new Set() }
    u.ahead.rooms.add(roomId)
    await rooms.add(roomId, u.ahead.holder)
  }

  function letGoAhead(u: UserRecord): void {
    if (!u.ahead) return
    for (const roomId of u.ahead.rooms) rooms.remove(roomId, u.ahead.holder)
    u.ahead = null
  }

  async function follow(u: UserRecord, roomId: string, unread: number): Promise<void> {
    if (u.gone) return
    u.unread.set(roomId, unreadFrom(unread))
    await rooms.add(roomId, u)
  }

  function unfollow(u: UserRecord, roomId: string): void {
    u.unread.delete(roomId)
    rooms.remove(roomId, u)
  }

  /** Lets go of everything the record holds; a stream opened after this loads a new one. */
  function drop(u: UserRecord): void {
    if (u.gone) return
    u.gone = true
    if (users.get(u.userId) === u) users.delete(u.userId)
    u.offChannel?.()
    if (u.resyncRetry) clearTimeout(u.resyncRetry)
    for (const roomId of u.unread.keys()) rooms.remove(roomId, u)
    letGoAhead(u)
  }

  function close(s: Stream): void {
    if (s.closed) return
    s.closed = true
    s.user.streams.delete(s)
    if (s.user.streams.size === 0) drop(s.user)
    void s.releasePresence?.()
  }

  function fail(s: Stream, err: unknown): void {
    if (s.closed) return
    close(s)
    s.sink.end(err)
  }

  function failUser(u: UserRecord, err: unknown): void {
    for (const s of [...u.streams]) fail(s, err)
    drop(u)
  }

  async function start(s: Stream): Promise<void> {
    metrics?.userStreamsStarting?.(1)
    try {
      await s.user.ready
      if (s.closed) return
      // Holding a user stream is being online (cluster-wide with Redis); the
      // last stream of a user to close, or a crashed node's expiry, ends it.
      const release = await bus.presence.connect(s.user.userId)
      if (s.closed) void release()
      else s.releasePresence = release
    } catch (err) {
      fail(s, err)
    } finally {
      metrics?.userStreamsStarting?.(-1)
    }
  }

  function newRecord(userId: string): UserRecord {
    return { userId, streams: new Set(), unread: new Map(), ready: Promise.resolve(), counted: false, offChannel: null, gone: false, resyncQueued: false, resyncFailures: 0, resyncRetry: null, ahead: null }
  }

  /** A followed room's newest message as it was created (null: none yet); undefined when this node does not know it. */
  function newestMessage(roomId: string): Message | null | undefined {
    const newest = newestByRoom.get(roomId)
    if (!newest || newest.known) return newest?.message
    if (!newest.reading) {
      newest.reading = true
      readNewest(roomId).then(
        () => (newest.reading = false),
        () => (newest.reading = false),
      )
    }
    return undefined
  }

  function recordFor(userId: string): UserRecord {
    const known = users.get(userId)
    if (known) return known
    const u = newRecord(userId)
    // A failed load is not kept: its streams end with the error, the next stream loads again.
    u.ready = loads(() => (u.gone ? undefined : load(u))).catch((err: unknown) => {
      drop(u)
      throw err
    })
    u.ready.catch(() => {}) // its streams report it
    users.set(userId, u)
    return u
  }

  return {
    /** Starts a stream for a signed-in user's session; events go to `sink` until close() (or it ends). */
    open(userId: string, sessionId: string, sink: UserStreamSink): UserStream {
      const user = recordFor(userId)
      const s: Stream = { user, sessionId, sink, closed: false, releasePresence: null }
      user.streams.add(s)
      void start(s)
      return { close: () => close(s) }
    },
    close(): void {
      closed = true
      for (const u of users.values()) if (u.resyncRetry) clearTimeout(u.resyncRetry)
      offPresence()
      profiles.then((off) => off(), () => {})
      offResync()
    },
    /**
     * What this node knows of rooms' newest messages, for `userId`'s room
     * list. While the user's stream waits for its load, the room is followed
     * first (the load would follow it anyway); should that fail, the list
     * reads the room itself.
     */
    newestMessagesFor(userId: string): NewestMessages {
      return async (roomId) => {
        const u = users.get(userId)
        if (u && !u.counted && !u.gone) await followAhead(u, roomId).catch(() => {})
        return newestMessage(roomId)
      }
    },
  }
}
export type UserHub = ReturnType<typeof createUserHub>
