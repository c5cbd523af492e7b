import { TRPCError } from '@trpc/server'
import { ObjectId, toPublicUser, type RoomDoc } from '@parley/db'
import {
  BrowseRoomsInput,
  CreateRoomInput,
  DirectInput,
  InviteInput,
  KickInput,
  MarkReadInput,
  moderates,
  mayKick,
  maySetRole,
  RoomIdInput,
  SetMutedInput,
  SetRoleInput,
  UpdateRoomInput,
  type Member,
  type PublicUser,
  type RoomListItem,
} from '@parley/schemas'
import { limitUser, loadRoom, publishRoomEvent, publishUserEvent, requireMember, requireMemberCached, requireRole } from '../access.ts'
import type { Context } from '../context.ts'
import { protectedProcedure, router } from '../trpc.ts'

async function listItemFor(ctx: Context, room: RoomDoc, userId: ObjectId): Promise<RoomListItem> {
  const { rooms } = ctx.deps.database.repos
  const [fresh, member] = await Promise.all([rooms.get(room._id), rooms.membership(room._id, userId)])
  if (!fresh || !member) throw new TRPCError({ code: 'NOT_FOUND', message: 'Room not found' })
  return rooms.listItem(fresh, member)
}

/** Announces a new room to a user's tabs and devices: their own doing, or `by` someone else's. */
async function announceAdded(ctx: Context, room: RoomDoc, userId: ObjectId, by?: PublicUser): Promise<RoomListItem> {
  const item = await listItemFor(ctx, room, userId)
  publishUserEvent(ctx, userId.toHexString(), { type: 'room.added', room: item, ...(by && { by }) })
  return item
}

async function findUser(ctx: Context, username: string) {
  const user = await ctx.deps.database.collections.users.findOne({ username }, { projection: { passwordHash: 0 } })
  if (!user) throw new TRPCError({ code: 'NOT_FOUND', message: `No user named ${username}` })
  return user
}

export const roomsRouter = router({
  create: protectedProcedure.input(CreateRoomInput).mutation(async ({ ctx, input }) => {
    const { rooms } = ctx.deps.database.repos
    await limitUser(ctx, 'rooms')
    const me = toPublicUser(ctx.user)
    const room = await rooms.create({ name: input.name, topic: input.topic, visibility: input.visibility, owner: me })
    publishRoomEvent(ctx, await rooms.addMember(room, me, 'owner'))
    return announceAdded(ctx, room, ctx.user._id)
  }),

  // The newest messages of rooms this node follows are known without a read (user-hub.ts).
  list: protectedProcedure.query(({ ctx }) => ctx.deps.database.repos.rooms.listForUser(ctx.user._id, ctx.deps.userHub.newestMessagesFor(ctx.user._id.toHexString()))),

  browse: protectedProcedure.input(BrowseRoomsInput).query(({ ctx, input }) => ctx.deps.database.repos.rooms.browse(input.query, input.cursor, input.limit)),

  get: protectedProcedure.input(RoomIdInput).query(async ({ ctx, input }) => (await ctx.deps.database.repos.rooms.view((await loadRoom(ctx, input.roomId)).room)).room),

  /**
   * Owner/admin: a new name and/or topic. Members hear `room.updated` on
   * events.room and events.user; a change that changes nothing emits nothing.
   */
  update: protectedProcedure.input(UpdateRoomInput).mutation(async ({ ctx, input }) => {
    const { rooms } = ctx.deps.database.repos
    const { room, member } = await requireMember(ctx, input.roomId)
    if (room.directKey)
      throw new TRPCError({
        code: 'BAD_REQUEST',
        message: 'Direct conversations have no name or topic to change',
      })
    if (!moderates(member.role, false))
      throw new TRPCError({
        code: 'FORBIDDEN',
        message: "Only the owner or an admin can change the room's name or topic",
      })
    const change = { name: input.name, topic: input.topic }
    // A form saved as it was (the room as just read) is not a change: it costs
    // no room action, as joining a room one is in costs none, and writes nothing.
    const changes =
      (change.name !== undefined && change.name !== room.name) ||
      (change.topic !== undefined && change.topic !== room.topic)
    let updated = null
    if (changes) {
      await limitUser(ctx, 'rooms')
      updated = await rooms.update(room._id, change, toPublicUser(ctx.user))
      for (const event of updated?.events ?? []) publishRoomEvent(ctx, event)
    }
    // Nothing changed (as read, or by the time of the write): the room as it was read.
    return (await rooms.view(updated?.room ?? room)).room
  }),

  join: protectedProcedure.input(RoomIdInput).mutation(async ({ ctx, input }) => {
    const { rooms } = ctx.deps.database.repos
    const { room, member } = await loadRoom(ctx, input.roomId).catch(async (err: unknown) => {
      // A private room is joinable only with an invite; without one it stays invisible.
      const room = await rooms.get(new ObjectId(input.roomId))
      if (room && room.visibility === 'private' && !room.directKey && (await rooms.hasInvite(room._id, ctx.user._id))) return { room, member: null }
      throw err
    })
    if (!member) {
      await limitUser(ctx, 'rooms')
      // Into a room its owner left empty: the newcomer owns it (else nobody could ever moderate it).
      // The room was just read; the claim itself decides between two who join at once.
      const owns = room.ownerless === true && (await rooms.claimOwnership(room._id, ctx.user._id))
      publishRoomEvent(ctx, await rooms.addMember(room, toPublicUser(ctx.user), owns ? 'owner' : 'member'))
      if (owns) return announceAdded(ctx, { ...room, ownerId: ctx.user._id }, ctx.user._id)
    }
    return announceAdded(ctx, room, ctx.user._id)
  }),

  leave: protectedProcedure.input(RoomIdInput).mutation(async ({ ctx, input }) => {
    const { rooms } = ctx.deps.database.repos
    const { room, member } = await requireMember(ctx, input.roomId)
    if (room.directKey) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Direct conversations cannot be left' })
    await limitUser(ctx, 'rooms')
    // Hand the room on first: it is never left without an owner while others are in it.
    if (member.role === 'owner') publishRoomEvent(ctx, await rooms.passOwnership(room._id, ctx.user._id))
    publishRoomEvent(ctx, await rooms.removeMember(room._id, ctx.user._id, 'left'))
    publishUserEvent(ctx, ctx.user._id.toHexString(), { type: 'room.removed', roomId: input.roomId, reason: 'left' })
    return { ok: true as const }
  }),

  /** Private rooms: owner/admin only. The invitee becomes a member at once and may rejoin later. */
  invite: protectedProcedure.input(InviteInput).mutation(async ({ ctx, input }) => {
    const { rooms } = ctx.deps.database.repos
    const { room, member } = await requireMember(ctx, input.roomId)
    if (room.directKey) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Direct conversations have two people' })
    if (room.visibility === 'private' && !moderates(member.role, false)) throw new TRPCError({ code: 'FORBIDDEN', message: 'Only the owner or an admin can invite to a private room' })
    // Counted before the name is looked up: a miss costs as much as a hit, so names cannot be probed for free.
    await limitUser(ctx, 'rooms')
    const invitee = await findUser(ctx, input.username)
    await rooms.invite(room._id, invitee._id, ctx.user._id)
    const event = await rooms.addMember(room, toPublicUser(invitee), 'member')
    publishRoomEvent(ctx, event)
    if (event) await announceAdded(ctx, room, invitee._id, toPublicUser(ctx.user))
    return { ok: true as const, added: event !== null }
  }),

  members: protectedProcedure.input(RoomIdInput).query(async ({ ctx, input }): Promise<Member[]> => {
    const { room } = await loadRoom(ctx, input.roomId)
    const list = await ctx.deps.database.repos.rooms.members(room._id, ctx.deps.limits.membersListMax)
    const online = await ctx.deps.bus.presence.online(list.map((m) => m.user.id))
    const rank = { owner: 0, admin: 1, member: 2 }
    return list
      .map(({ member, user }) => ({ user, role: member.role, online: online.has(user.id) }))
      .sort((a, b) => rank[a.role] - rank[b.role] || Number(b.online) - Number(a.online) || a.user.username.localeCompare(b.user.username))
  }),

  markRead: protectedProcedure.input(MarkReadInput).mutation(async ({ ctx, input }) => {
    // Every reader of a busy room sends these: a hot path, like messages.send.
    // A member removed meanwhile is refused by the write itself (NOT_FOUND).
    const { room } = await requireMemberCached(ctx, input.roomId)
    // A marker past the end of the log would hide messages that have not been written yet.
    // Within what this node has delivered in the room (the usual marker: the reader got its
    // seq from here), the log is known to reach that far: no need to read its end.
    const delivered = ctx.deps.roomHub.deliveredThrough(input.roomId)
    const latest = delivered !== null && input.seq <= delivered ? delivered : await ctx.deps.database.repos.events.latestSeq(room._id)
    const result = await ctx.deps.database.repos.rooms.markRead(room._id, ctx.user._id, Math.min(input.seq, latest), latest)
    if (!result) throw new TRPCError({ code: 'NOT_FOUND', message: 'Room not found' })
    publishUserEvent(ctx, ctx.user._id.toHexString(), { type: 'room.activity', roomId: input.roomId, seq: latest, unread: result.unread, lastMessage: null })
    return result
  }),

  /**
   * The caller's own setting for a room, on every device of theirs
   * (`room.muted`): the PWA raises no notification for a muted room's
   * messages but one naming them, and leaves its count out of the app's
   * badge. Setting it as it is changes nothing and costs no room action.
   */
  setMuted: protectedProcedure.input(SetMutedInput).mutation(async ({ ctx, input }) => {
    const { room, member } = await requireMember(ctx, input.roomId)
    if ((member.muted ?? false) === input.muted) return { muted: input.muted }
    await limitUser(ctx, 'rooms')
    // A member removed meanwhile is refused by the write itself.
    if (!(await ctx.deps.database.repos.rooms.setMuted(room._id, ctx.user._id, input.muted))) throw new TRPCError({ code: 'NOT_FOUND', message: 'Room not found' })
    publishUserEvent(ctx, ctx.user._id.toHexString(), { type: 'room.muted', roomId: input.roomId, muted: input.muted })
    return { muted: input.muted }
  }),

  direct: protectedProcedure.input(DirectInput).mutation(async ({ ctx, input }) => {
    const { rooms } = ctx.deps.database.repos
    await limitUser(ctx, 'rooms') // before the lookup, as in invite
    const other = await findUser(ctx, input.username)
    if (other._id.equals(ctx.user._id)) throw new TRPCError({ code: 'BAD_REQUEST', message: "You can't start a direct conversation with yourself" })
    const me = toPublicUser(ctx.user)
    const { room } = await rooms.direct(me, toPublicUser(other))
    // Both memberships are ensured on every call, so a crash between steps heals itself.
    // Two equals: neither moderates the other (no owner, no admin).
    const joinedMe = await rooms.addMember(room, me, 'member')
    publishRoomEvent(ctx, joinedMe)
    const joinedOther = await rooms.addMember(room, toPublicUser(other), 'member')
    publishRoomEvent(ctx, joinedOther)
    if (joinedOther) await announceAdded(ctx, room, other._id, me)
    return joinedMe ? announceAdded(ctx, room, ctx.user._id) : listItemFor(ctx, room, ctx.user._id)
  }),

  kick: protectedProcedure.input(KickInput).mutation(async ({ ctx, input }) => {
    const { rooms } = ctx.deps.database.repos
    const { room, member } = await requireMember(ctx, input.roomId)
    if (room.directKey) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Direct conversations have two people' })
    requireRole(member, ['owner', 'admin'])
    const userId = new ObjectId(input.userId)
    const target = await rooms.membership(room._id, userId)
    if (!target) throw new TRPCError({ code: 'NOT_FOUND', message: 'That person is not in this room' })
    if (target.userId.equals(ctx.user._id)) throw new TRPCError({ code: 'BAD_REQUEST', message: "You can't remove yourself: leave the room instead" })
    if (!mayKick(member.role, target.role)) throw new TRPCError({ code: 'FORBIDDEN', message: 'You cannot remove that member' })
    publishRoomEvent(ctx, await rooms.removeMember(room._id, userId, 'kicked'))
    publishUserEvent(ctx, input.userId, { type: 'room.removed', roomId: input.roomId, reason: 'kicked' })
    return { ok: true as const }
  }),

  setRole: protectedProcedure.input(SetRoleInput).mutation(async ({ ctx, input }) => {
    const { rooms } = ctx.deps.database.repos
    const { room, member } = await requireMember(ctx, input.roomId)
    if (room.directKey) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Direct conversations have two people' })
    requireRole(member, ['owner'])
    const userId = new ObjectId(input.userId)
    const target = await rooms.membership(room._id, userId)
    if (!target) throw new TRPCError({ code: 'NOT_FOUND', message: 'That person is not in this room' })
    if (!maySetRole(member.role, target.role)) throw new TRPCError({ code: 'FORBIDDEN', message: 'The owner keeps their role' })
    publishRoomEvent(ctx, await rooms.setRole(room._id, userId, input.role))
    return { ok: true as const }
  }),
})
