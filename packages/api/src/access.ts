import { TRPCError } from '@trpc/server'
import { ObjectId, type EventDoc, type MemberDoc, type RoomDoc } from '@parley/db'
import type { Role, RoomStreamEvent, UserEvent } from '@parley/schemas'
import type { Context } from './context.ts'
import type { ApiLimits } from './limits.ts'
import { RateLimitedError } from './trpc.ts'

export type AuthedContext = Context & { session: NonNullable<Context['session']> }

export const roomChannel = (roomId: string) => `room:${roomId}`
export const userChannel = (userId: string) => `user:${userId}`

/** What travels on a room channel: the event plus when it was persisted (for the fan-out histogram). */
export interface RoomBusMessage {
  event: RoomStreamEvent
  at: number
}

export function publishRoomEvent(ctx: Context, event: EventDoc | null): void {
  if (!event) return
  const data = event.data
  if (data.type === 'member.left' || data.type === 'member.updated') ctx.deps.membership.changed(data.roomId, data.userId)
  const msg: RoomBusMessage = { event: event.data, at: event.createdAt.getTime() }
  ctx.deps.bus.publish(roomChannel(event.roomId.toHexString()), msg)
}

export function publishUserEvent(ctx: Context, userId: string, event: UserEvent): void {
  ctx.deps.bus.publish(userChannel(userId), event)
}

const notFound = () => new TRPCError({ code: 'NOT_FOUND', message: 'Room not found' })

/**
 * Loads a room the caller may see. Private rooms are invisible to non-members
 * (NOT_FOUND, never FORBIDDEN, so their existence does not leak).
 */
export async function loadRoom(ctx: AuthedContext, roomId: string): Promise<{ room: RoomDoc; member: MemberDoc | null }> {
  const id = new ObjectId(roomId)
  const { rooms } = ctx.deps.database.repos
  const [room, member] = await Promise.all([rooms.get(id), rooms.membership(id, ctx.session.user._id)])
  if (!room || (room.visibility === 'private' && !member)) throw notFound()
  return { room, member }
}

/** Loads a room the caller belongs to (optionally with one of `roles`). */
export async function requireMember(ctx: AuthedContext, roomId: string, roles?: Role[]): Promise<{ room: RoomDoc; member: MemberDoc }> {
  const { room, member } = await loadRoom(ctx, roomId)
  if (!member) throw new TRPCError({ code: 'FORBIDDEN', message: 'Join the room first' })
  if (roles) requireRole(member, roles)
  return { room, member }
}

const WHO: Record<Role, string> = { owner: "the room's owner", admin: 'an admin', member: 'a member' }

export function requireRole(member: MemberDoc, roles: Role[]): void {
  if (!roles.includes(member.role)) throw new TRPCError({ code: 'FORBIDDEN', message: `Only ${roles.map((r) => WHO[r]).join(' or ')} can do that` })
}

/** requireMember for hot paths: served from the membership cache when fresh. */
export async function requireMemberCached(ctx: AuthedContext, roomId: string): Promise<{ room: RoomDoc; member: MemberDoc }> {
  const hit = ctx.deps.membership.get(roomId, ctx.session.user._id.toHexString())
  if (hit) return hit
  const stamp = ctx.deps.membership.stamp()
  const access = await requireMember(ctx, roomId)
  ctx.deps.membership.set(access.room, access.member, stamp)
  return access
}

/** Like requireMember, but a non-member learns nothing: NOT_FOUND even for a public room. */
export async function requireMemberOrNotFound(ctx: AuthedContext, roomId: string, what = 'Room'): Promise<{ room: RoomDoc; member: MemberDoc }> {
  const { room, member } = await loadRoom(ctx, roomId).catch((err: unknown) => {
    if (err instanceof TRPCError && err.code === 'NOT_FOUND') return { room: null, member: null }
    throw err
  })
  if (!room || !member) throw new TRPCError({ code: 'NOT_FOUND', message: `${what} not found` })
  return { room, member }
}

export async function rateLimit(ctx: Context, key: string, limit: number, windowMs: number, what: string): Promise<void> {
  const r = await ctx.deps.bus.rateLimiter.hit(key, limit, windowMs)
  if (!r.ok) throw new RateLimitedError(r.retryAfterMs, `Too many ${what}`)
}

type LimitPair = { perWindow: keyof ApiLimits; windowMs: keyof ApiLimits; what: string }

/** The per-user buckets: which pair of ApiLimits bounds each, and what a refusal calls it. */
const USER_BUCKETS = {
  /** messages.send and messages.edit: an edit reaches every member like a new message */
  send: { perWindow: 'sendPerWindow', windowMs: 'sendWindowMs', what: 'messages' },
  react: { perWindow: 'reactPerWindow', windowMs: 'reactWindowMs', what: 'reactions' },
  typing: { perWindow: 'typingPerWindow', windowMs: 'typingWindowMs', what: 'typing signals' },
  search: { perWindow: 'searchPerWindow', windowMs: 'searchWindowMs', what: 'searches' },
  profile: { perWindow: 'profilePerWindow', windowMs: 'profileWindowMs', what: 'name changes' },
  /**
   * rooms.create, rooms.invite, rooms.direct, rooms.join, rooms.leave,
   * rooms.update and rooms.setMuted: each changes someone's room list, and a join, leave or
   * rename is an event in the room's log for every member (doing it in a loop
   * would flood it)
   */
  rooms: { perWindow: 'roomActionsPerWindow', windowMs: 'roomActionsWindowMs', what: 'room changes' },
} as const satisfies Record<string, LimitPair>

/** Counts one call against the caller's bucket; TOO_MANY_REQUESTS past its limit. */
export function limitUser(ctx: AuthedContext, bucket: keyof typeof USER_BUCKETS): Promise<void> {
  const { perWindow, windowMs, what } = USER_BUCKETS[bucket]
  const { limits } = ctx.deps
  return rateLimit(ctx, `${bucket}:${ctx.session.user._id.toHexString()}`, limits[perWindow], limits[windowMs], what)
}
