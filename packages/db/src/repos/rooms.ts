import { ObjectId } from 'mongodb'
import type { Message, PublicUser, Role, RoomListItem, Visibility } from '@parley/schemas'
import { batchedGroups, batchedLookup, type LookupOptions } from '../batch.ts'
import type { Collections } from '../client.ts'
import type { EventDoc, MemberDoc, RoomDoc } from '../documents.ts'
import { INDEX, isDuplicateKey } from '../indexes.ts'
import type { EventLog } from './events.ts'
import type { Messages, NewestMessages } from './messages.ts'
import type { UnreadCount } from './unread.ts'
import { toRoom } from './mappers.ts'
import { containing } from './search-pattern.ts'

/** Rooms and memberships. Membership changes are room events too (member.joined / member.left). */
export function createRooms(c: Collections, log: EventLog, messages: Messages, { lookupWindowMs }: LookupOptions = {}) {
  async function create(input: { name: string; topic?: string | null; visibility: Visibility; owner: PublicUser; direct?: { key: string; people: PublicUser[] } }) {
    const now = new Date()
    const room: RoomDoc = {
      _id: new ObjectId(),
      name: input.name,
      topic: input.topic ?? null,
      visibility: input.visibility,
      ownerId: new ObjectId(input.owner.id),
      epoch: new ObjectId().toHexString(),
      memberCount: 0,
      createdAt: now,
      ...(input.direct ? { directKey: input.direct.key, directPeople: input.direct.people } : {}),
    }
    await c.rooms.insertOne(room)
    return room
  }

  const get = batchedLookup<ObjectId, RoomDoc>({
    crowdWindowMs: lookupWindowMs,
    key: (id) => id.toHexString(),
    fetch: (ids) => c.rooms.find({ _id: { $in: [...ids] } }).toArray(),
    keyOf: (r) => r._id.toHexString(),
  })
  /**
   * The rooms a user is in, with their read markers. One query for the users
   * asked about together (the members_user index serves it): a room check on
   * a handshake and a user's load when their events.user stream starts share
   * it — in a reconnect storm thousands of both arrive at once.
   */
  const membershipsOf = batchedGroups<ObjectId, MemberDoc>({
    crowdWindowMs: lookupWindowMs,
    key: (userId) => userId.toHexString(),
    fetch: (userIds) => c.members.find({ userId: { $in: [...userIds] } }).toArray(),
    keyOf: (m) => m.userId.toHexString(),
  })
  // Filtering on rooms too would make the planner probe rooms × users index keys; a user is in a handful of rooms.
  const membership = async (roomId: ObjectId, userId: ObjectId) => (await membershipsOf(userId)).find((m) => m.roomId.equals(roomId)) ?? null

  /** Adds a member (no-op if already one). Returns the event when something changed. */
  async function addMember(room: RoomDoc, user: PublicUser, role: Role): Promise<EventDoc | null> {
    const userId = new ObjectId(user.id)
    try {
      await c.members.insertOne({ _id: new ObjectId(), roomId: room._id, userId, role, lastReadSeq: 0, joinedAt: new Date() })
    } catch (err) {
      if (isDuplicateKey(err, INDEX.membersRoomUser)) return null
      throw err
    }
    const result = await log.append(room._id, {
      build: (seq) => ({ type: 'member.joined', roomId: room._id.toHexString(), seq, member: { user, role } }),
    })
    if (!result.ok) throw new Error('unexpected idempotency conflict')
    // New members start with everything before their arrival read.
    await c.members.updateOne({ roomId: room._id, userId }, { $set: { lastReadSeq: result.event.seq } })
    await c.rooms.updateOne({ _id: room._id }, { $inc: { memberCount: 1 } })
    return result.event
  }

  /** Removes a member. Being kicked also ends their invite: a private room stays closed to them until a new one. */
  async function removeMember(roomId: ObjectId, userId: ObjectId, reason: 'left' | 'kicked'): Promise<EventDoc | null> {
    if (reason === 'kicked') await c.invites.deleteOne({ roomId, userId })
    const removed = await c.members.deleteOne({ roomId, userId })
    if (removed.deletedCount === 0) return null
    const result = await log.append(roomId, {
      build: (seq) => ({ type: 'member.left', roomId: roomId.toHexString(), seq, userId: userId.toHexString(), reason }),
    })
    if (!result.ok) throw new Error('unexpected idempotency conflict')
    await c.rooms.updateOne({ _id: roomId }, { $inc: { memberCount: -1 } })
    return result.event
  }

  /** Why `userId` last left the room, from its log ('left' when the log has no such event). */
  async function leaveReason(roomId: ObjectId, userId: ObjectId): Promise<'left' | 'kicked'> {
    const event = await log.lastLeft(roomId, userId)
    return event?.data.type === 'member.left' ? event.data.reason : 'left'
  }

  /**
   * When the owner leaves, the room passes to its longest-standing admin, else
   * its longest-standing member, so someone can still moderate it. Returns the
   * successor's member.updated event (null when nobody else is left).
   */
  async function passOwnership(roomId: ObjectId, from: ObjectId): Promise<EventDoc | null> {
    // 'admin' sorts before 'member'; the owner leaving is excluded. _id breaks a tie in joinedAt (MongoDB's order of equal keys is not fixed).
    const [successor] = await c.members.find({ roomId, userId: { $ne: from } }).sort({ role: 1, joinedAt: 1, _id: 1 }).limit(1).toArray()
    if (!successor) {
      await c.rooms.updateOne({ _id: roomId }, { $set: { ownerless: true } })
      return null
    }
    const event = await setRole(roomId, successor.userId, 'owner')
    await c.rooms.updateOne({ _id: roomId }, { $set: { ownerId: successor.userId } })
    return event
  }

  /**
   * Makes `userId` the owner of a room its owner left empty; false when it is
   * not such a room (any more: of two who join at once, one claims it).
   */
  async function claimOwnership(roomId: ObjectId, userId: ObjectId): Promise<boolean> {
    const claimed = await c.rooms.updateOne({ _id: roomId, ownerless: true }, { $set: { ownerId: userId }, $unset: { ownerless: '' } })
    return claimed.modifiedCount === 1
  }

  async function setRole(roomId: ObjectId, userId: ObjectId, role: Role): Promise<EventDoc | null> {
    const updated = await c.members.updateOne({ roomId, userId, role: { $ne: role } }, { $set: { role } })
    if (updated.modifiedCount === 0) return null
    const result = await log.append(roomId, {
      build: (seq) => ({ type: 'member.updated', roomId: roomId.toHexString(), seq, userId: userId.toHexString(), role }),
    })
    if (!result.ok) throw new Error('unexpected idempotency conflict')
    return result.event
  }

  /**
   * Changes a room's name and/or topic (a field left out stays as it is).
   * A change that changes nothing writes nothing and logs no event (null).
   * Otherwise it returns the room as stored and the room.updated events it
   * logged, each carrying the room's name and topic.
   *
   * The log's order is the one members see, so the room as stored must be
   * its last room.updated, also when admins change it at once through
   * different nodes (writing the room, then logging, let the two orders
   * differ). So the event is logged first and the room written only if no
   * other change was stored since it was read (`settingsSeq`); if one was,
   * the change is logged again over the room as it now is, and written then:
   * the events that lost a race are followed by one that did not. Rooms keep
   * no other copy of their name (browse searches `name` itself); direct rooms
   * are not changed.
   */
  async function update(
    roomId: ObjectId,
    change: { name?: string; topic?: string | null },
    by: PublicUser,
  ): Promise<{ room: RoomDoc; events: EventDoc[] } | null> {
    const events: EventDoc[] = []
    for (;;) {
      const current = await c.rooms.findOne({ _id: roomId, directKey: { $exists: false } })
      if (!current) return null
      const next = { name: change.name ?? current.name, topic: change.topic !== undefined ? change.topic : current.topic }
      // Once an event is logged, the room is written whatever it holds: that event may be the log's last.
      if (events.length === 0 && next.name === current.name && next.topic === current.topic) return null
      const result = await log.append(roomId, {
        build: (seq) => ({ type: 'room.updated', roomId: roomId.toHexString(), seq, ...next, by }),
      })
      if (!result.ok) throw new Error('unexpected idempotency conflict')
      events.push(result.event)
      const room = await c.rooms.findOneAndUpdate(
        { _id: roomId, settingsSeq: current.settingsSeq ?? { $exists: false } },
        { $set: { ...next, settingsSeq: result.event.seq } },
        { returnDocument: 'after' },
      )
      if (room) return { room, events }
    }
  }

  /** A room as clients see it, given its latest seq: activity from the newest message. */
  const wireRoom = (room: RoomDoc, seq: number, lastMessage: Message | null) => toRoom(room, { seq, lastActivityAt: lastMessage ? new Date(lastMessage.createdAt) : room.createdAt })

  /** A room as clients see it: seq from the event log, activity from the newest message. */
  async function view(room: RoomDoc) {
    const [seq, lastMessage] = await Promise.all([log.latestSeq(room._id), messages.latest(room._id)])
    return { room: wireRoom(room, seq, lastMessage), lastMessage }
  }

  /**
   * A room as its member lists it, from their unread count and the room's
   * newest message. The count read every event after the member's marker, so
   * its cut is the room's latest seq (a marker never passes the log's end:
   * markRead clamps it).
   */
  const toListItem = (room: RoomDoc, member: MemberDoc, count: UnreadCount, lastMessage: Message | null): RoomListItem => ({
    ...wireRoom(room, count.through, lastMessage),
    role: member.role,
    unread: count.unread,
    lastReadSeq: member.lastReadSeq,
    lastMessage,
    muted: member.muted ?? false,
  })

  /** One room as its member lists it. */
  async function listItem(room: RoomDoc, member: MemberDoc): Promise<RoomListItem> {
    const [[count], lastMessage] = await Promise.all([unreadOf(member.userId, [member]), messages.latest(room._id)])
    return toListItem(room, member, count!, lastMessage)
  }

  /**
   * The caller's rooms, newest activity first, with unread counts: a fixed
   * number of queries plus one indexed read per room (its newest message).
   * The rooms and their newest messages are lookups shared with everyone
   * asking at the same time (a crowd reloading its lists after a reconnect).
   * A room whose newest message `known` tells (a node following the room
   * hears each one) costs no read of its own (messages.latestOf).
   */
  async function listForUser(userId: ObjectId, known?: NewestMessages): Promise<RoomListItem[]> {
    const memberships = await membershipsOf(userId)
    if (memberships.length === 0) return []
    const roomIds = memberships.map((m) => m.roomId)
    const [rooms, unread, lastMessages] = await Promise.all([Promise.all(roomIds.map((id) => get(id))), unreadOf(userId, memberships), messages.latestOf(roomIds, known)])
    const items = memberships.flatMap((m, i) => {
      const room = rooms[i]
      return room ? [toListItem(room, m, unread[i]!, lastMessages.get(m.roomId.toHexString()) ?? null)] : []
    })
    return items.sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt))
  }

  /** Unread counts of the memberships of one user (see createUnreadCounter). */
  const unreadOf = (userId: ObjectId, memberships: MemberDoc[]) => messages.unreadCounts(userId, memberships.map((m) => ({ roomId: m.roomId, afterSeq: m.lastReadSeq })))

  /** Public rooms by name, newest first; cursor is the last room id of the previous page. */
  async function browse(query: string | undefined, cursor: string | null | undefined, limit: number) {
    const filter: Record<string, unknown> = { visibility: 'public', directKey: { $exists: false } }
    if (query) filter.name = containing(query)
    if (cursor && /^[0-9a-f]{24}$/.test(cursor)) filter._id = { $lt: new ObjectId(cursor) }
    const docs = await c.rooms.find(filter).sort({ _id: -1 }).limit(limit + 1).toArray()
    const page = docs.slice(0, limit)
    const rooms = await Promise.all(page.map(async (r) => (await view(r)).room))
    return { rooms, nextCursor: docs.length > limit ? page[page.length - 1]!._id.toHexString() : null }
  }

  /**
   * Up to `max` members of a room: the owner and admins always (a big room's
   * list must still say who runs it), then the others.
   */
  async function members(roomId: ObjectId, max: number) {
    const staff = await c.members.find({ roomId, role: { $in: ['owner', 'admin'] } }).limit(max).toArray()
    const rest = staff.length < max ? await c.members.find({ roomId, role: 'member' }).limit(max - staff.length).toArray() : []
    const docs = [...staff, ...rest]
    const users = await c.users.find({ _id: { $in: docs.map((m) => m.userId) } }, { projection: { passwordHash: 0 } }).toArray()
    const byId = new Map(users.map((u) => [u._id.toHexString(), u]))
    return docs.flatMap((m) => {
      const u = byId.get(m.userId.toHexString())
      return u ? [{ member: m, user: { id: u._id.toHexString(), username: u.username, displayName: u.displayName } }] : []
    })
  }

  /**
   * Moves the member's read marker forward to `seq`; the unread count returned
   * is as of `throughSeq` (the log's latest when the caller looked), so that
   * messages written meanwhile are counted once, by whoever hears of them.
   * A marker at `throughSeq` (a reader at the bottom of the room: the common
   * case, sent by every reader of a busy room) leaves nothing to count.
   */
  async function markRead(roomId: ObjectId, userId: ObjectId, seq: number, throughSeq?: number) {
    const member = await c.members.findOneAndUpdate({ roomId, userId }, { $max: { lastReadSeq: seq } }, { returnDocument: 'after' })
    if (!member) return null
    const readToTheEnd = throughSeq !== undefined && member.lastReadSeq >= throughSeq
    return { lastReadSeq: member.lastReadSeq, unread: readToTheEnd ? 0 : await messages.unreadCount(roomId, userId, member.lastReadSeq, throughSeq) }
  }

  /** A member's own setting; false when they are not a member (any more). */
  async function setMuted(roomId: ObjectId, userId: ObjectId, muted: boolean): Promise<boolean> {
    const { matchedCount } = await c.members.updateOne({ roomId, userId }, { $set: { muted } })
    return matchedCount > 0
  }

  async function invite(roomId: ObjectId, userId: ObjectId, invitedBy: ObjectId) {
    await c.invites.updateOne({ roomId, userId }, { $setOnInsert: { invitedBy, createdAt: new Date() } }, { upsert: true }).catch((err: unknown) => {
      if (!isDuplicateKey(err)) throw err
    })
  }

  const hasInvite = async (roomId: ObjectId, userId: ObjectId) => (await c.invites.countDocuments({ roomId, userId }, { limit: 1 })) > 0

  /** The one direct room of two users, created once (unique directKey). */
  async function direct(a: PublicUser, b: PublicUser): Promise<{ room: RoomDoc; created: boolean }> {
    const directKey = [a.id, b.id].sort().join(':')
    const existing = await c.rooms.findOne({ directKey })
    if (existing?.directPeople) return { room: existing, created: false }
    if (existing) {
      // Made before rooms kept their two people: add them now, so both see the other's name from here on.
      const room = await c.rooms.findOneAndUpdate({ _id: existing._id }, { $set: { directPeople: [a, b] } }, { returnDocument: 'after' })
      return { room: room ?? existing, created: false }
    }
    try {
      const room = await create({ name: `${a.displayName} & ${b.displayName}`, visibility: 'private', owner: a, direct: { key: directKey, people: [a, b] } })
      return { room, created: true }
    } catch (err) {
      if (!isDuplicateKey(err, INDEX.roomsDirect)) throw err
      const room = await c.rooms.findOne({ directKey })
      if (!room) throw err
      return { room, created: false }
    }
  }

  /**
   * A direct room shows the other person by the name it keeps of the two
   * (`directPeople`): a new display name goes there too, in each of the
   * user's direct rooms. Found through the user's memberships (indexed) rather
   * than by scanning every room for their id.
   */
  async function renameDirectPerson(user: PublicUser): Promise<void> {
    const roomIds = (await membershipsOf(new ObjectId(user.id))).map((m) => m.roomId)
    if (roomIds.length === 0) return
    await c.rooms.updateMany(
      { _id: { $in: roomIds }, 'directPeople.id': user.id },
      { $set: { 'directPeople.$.displayName': user.displayName } },
    )
  }

  // A node's user hub asks for a room's members when its users first follow
  // the room: when a crowd of users starts at once, their rooms share one query per turn.
  const membersOf = batchedGroups<ObjectId, Pick<MemberDoc, 'roomId' | 'userId'>>({
    crowdWindowMs: lookupWindowMs,
    key: (roomId) => roomId.toHexString(),
    fetch: (roomIds) => c.members.find({ roomId: { $in: [...roomIds] } }, { projection: { _id: 0, roomId: 1, userId: 1 } }).toArray(),
    keyOf: (m) => m.roomId.toHexString(),
  })
  const memberIds = async (roomId: ObjectId) => (await membersOf(roomId)).map((m) => m.userId.toHexString())

  return { create, get, view, membership, addMember, removeMember, leaveReason, passOwnership, claimOwnership, setRole, update, listItem, listForUser, membershipsOf, unreadOf, browse, members, markRead, setMuted, invite, hasInvite, direct, renameDirectPerson, memberIds }
}
export type Rooms = ReturnType<typeof createRooms>
