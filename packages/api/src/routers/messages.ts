import { TRPCError } from '@trpc/server'
import { ObjectId, toMessage, toPublicUser } from '@parley/db'
import { EditMessageInput, LIMITS, ListMessagesInput, MessageIdInput, moderates, ReactInput, SearchMessagesInput, SendMessageInput } from '@parley/schemas'
import { limitUser, publishRoomEvent, requireMember, requireMemberCached, requireMemberOrNotFound } from '../access.ts'
import type { Context } from '../context.ts'
import { protectedProcedure, router } from '../trpc.ts'

async function loadMessage(ctx: Context & { session: NonNullable<Context['session']> }, messageId: string) {
  const doc = await ctx.deps.database.repos.messages.get(new ObjectId(messageId))
  if (!doc) throw new TRPCError({ code: 'NOT_FOUND', message: 'Message not found' })
  // Same visibility as the room: a non-member of a private room gets NOT_FOUND.
  const access = await requireMemberOrNotFound(ctx, doc.roomId.toHexString(), 'Message')
  return { doc, ...access }
}

/** Who may read a room's messages: its members, and anyone for a public room (a preview before joining). */
async function requireReader(ctx: Context & { session: NonNullable<Context['session']> }, roomId: string) {
  return requireMember(ctx, roomId).catch(async (err: unknown) => {
    if (err instanceof TRPCError && err.code === 'FORBIDDEN') {
      const room = await ctx.deps.database.repos.rooms.get(new ObjectId(roomId))
      if (room?.visibility === 'public') return { room }
    }
    throw err
  })
}

export const messagesRouter = router({
  /** Idempotent on (author, room, clientId): a retry returns the original and emits nothing. */
  send: protectedProcedure.input(SendMessageInput).mutation(async ({ ctx, input }) => {
    const { database } = ctx.deps
    const { room } = await requireMemberCached(ctx, input.roomId)
    try {
      await limitUser(ctx, 'send')
    } catch (err) {
      // A resend after a lost answer (the PWA's outbox) gets the original even over the limit, as the contract's idempotency promises.
      const original = err instanceof TRPCError && err.code === 'TOO_MANY_REQUESTS' ? await database.repos.messages.findSent(room._id, ctx.user._id, input.clientId) : null
      if (original) return original
      throw err
    }
    const result = await database.repos.messages.send({ roomId: room._id, author: toPublicUser(ctx.user), clientId: input.clientId, body: input.body })
    if (result.event) {
      publishRoomEvent(ctx, result.event)
      ctx.deps.metrics?.messageSent()
    }
    return result.message
  }),

  list: protectedProcedure.input(ListMessagesInput).query(async ({ ctx, input }) => {
    const { room } = await requireReader(ctx, input.roomId)
    return ctx.deps.database.repos.messages.list(room._id, input.before, input.limit)
  }),

  /** Messages of a room containing the words (any case), newest first; the same readers as messages.list. */
  search: protectedProcedure.input(SearchMessagesInput).query(async ({ ctx, input }) => {
    const { room } = await requireReader(ctx, input.roomId)
    await limitUser(ctx, 'search')
    return ctx.deps.database.repos.messages.search(room._id, input.query, input.before, input.limit)
  }),

  edit: protectedProcedure.input(EditMessageInput).mutation(async ({ ctx, input }) => {
    const { doc } = await loadMessage(ctx, input.messageId)
    if (!doc.authorId.equals(ctx.user._id)) throw new TRPCError({ code: 'FORBIDDEN', message: 'Only the author can edit a message' })
    if (doc.deleted) throw new TRPCError({ code: 'BAD_REQUEST', message: 'The message was deleted' })
    if (doc.body === input.body) return toMessage(doc)
    await limitUser(ctx, 'send')
    const { message, event } = await ctx.deps.database.repos.messages.edit(doc, input.body)
    publishRoomEvent(ctx, event)
    return message
  }),

  delete: protectedProcedure.input(MessageIdInput).mutation(async ({ ctx, input }) => {
    const { doc, room, member } = await loadMessage(ctx, input.messageId)
    if (!doc.authorId.equals(ctx.user._id) && !moderates(member.role, !!room.directKey)) throw new TRPCError({ code: 'FORBIDDEN', message: 'Only the author or a moderator can delete a message' })
    if (doc.deleted) return { ok: true as const }
    publishRoomEvent(ctx, (await ctx.deps.database.repos.messages.remove(doc)).event)
    return { ok: true as const }
  }),

  react: protectedProcedure.input(ReactInput).mutation(async ({ ctx, input }) => {
    const { doc } = await loadMessage(ctx, input.messageId)
    if (doc.deleted) throw new TRPCError({ code: 'BAD_REQUEST', message: 'The message was deleted' })
    const emojis = Object.entries(doc.reactions ?? {}).filter(([, userIds]) => userIds.length > 0)
    if (input.on && emojis.length >= LIMITS.reactionsPerMessageMax && !emojis.some(([emoji]) => emoji === input.emoji)) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: `A message can have at most ${LIMITS.reactionsPerMessageMax} different reactions` })
    }
    await limitUser(ctx, 'react')
    const result = await ctx.deps.database.repos.messages.react(doc, ctx.user._id.toHexString(), input.emoji, input.on)
    if (!result) return { changed: false }
    publishRoomEvent(ctx, result.event)
    return { changed: true }
  }),
})

