import { tracked } from '@trpc/server'
import { toPublicUser } from '@parley/db'
import { RoomEventsInput, TypingInput, type RoomStreamEvent, type UserEvent } from '@parley/schemas'
import { rateLimit, requireMemberCached, requireMemberOrNotFound, roomChannel, userChannel, type RoomBusMessage } from '../access.ts'
import { createQueue } from '../lib/queue.ts'
import { protectedProcedure, router } from '../trpc.ts'

export const eventsRouter = router({
  /**
   * A room's events, exactly once and in seq order, across reconnects and nodes
   * (the guarantees live in the room hub, live/room-hub.ts). Over WebSocket the
   * gateway in live/ws-room-streams.ts answers this procedure without running
   * it; this generator serves every other caller with the same hub.
   */
  room: protectedProcedure.input(RoomEventsInput).subscription(async function* ({ ctx, input, signal }) {
    const { room } = await requireMemberOrNotFound(ctx, input.roomId)
    const queue = createQueue<{ event: RoomStreamEvent } | { end: unknown }>(signal)
    const resumeFrom = input.lastEventId == null ? null : Number(input.lastEventId)
    const stream = ctx.deps.roomHub.open(room, ctx.user._id.toHexString(), resumeFrom, {
      push: (event) => queue.push({ event }),
      end: (error) => queue.push({ end: error }),
    })
    try {
      for (;;) {
        const item = await queue.next()
        if (!item) return
        if ('end' in item) {
          if (item.end) throw item.end
          return
        }
        const event = item.event
        yield event.type === 'typing' ? event : tracked(String(event.seq), event)
      }
    } finally {
      stream.close()
    }
  }),

  /**
   * Per-user signals: activity and unread counts in the user's rooms, rooms
   * added/removed, presence of people who share a room. Not resumable: after a
   * reconnect the client refetches rooms.list.
   */
  user: protectedProcedure.subscription(async function* ({ ctx, signal }) {
    const { database, bus, roomMembers } = ctx.deps
    const me = ctx.user._id.toHexString()
    type Item = { kind: 'user'; event: UserEvent } | { kind: 'room'; msg: RoomBusMessage } | { kind: 'presence'; event: UserEvent }
    const queue = createQueue<Item>(signal)
    const unsubs = new Map<string, () => void>()
    const unread = new Map<string, number>()
    const cleanups: (() => void)[] = []
    let ended = false

    async function follow(roomId: string, unreadCount: number) {
      unread.set(roomId, unreadCount)
      if (unsubs.has(roomId)) return
      const pending = () => {}
      unsubs.set(roomId, pending)
      const off = await bus.subscribe(roomChannel(roomId), (payload) => {
        const msg = payload as RoomBusMessage
        // At receipt, not when the stream gets to it: a presence change right behind must see it.
        if (msg.event.type === 'member.joined') roomMembers.joined(roomId, msg.event.member.user.id)
        else if (msg.event.type === 'member.left') roomMembers.left(roomId, msg.event.userId)
        queue.push({ kind: 'room', msg })
      })
      let release: () => void
      try {
        release = await roomMembers.hold(roomId)
      } catch (err) {
        off()
        throw err
      }
      const stop = () => {
        off()
        release()
      }
      // Unfollowed (room.removed) or the stream ended meanwhile: let go at once.
      if (ended || unsubs.get(roomId) !== pending) return stop()
      unsubs.set(roomId, stop)
    }
    function unfollow(roomId: string) {
      unsubs.get(roomId)?.()
      unsubs.delete(roomId)
      unread.delete(roomId)
    }

    try {
      cleanups.push(await bus.subscribe(userChannel(me), (event) => queue.push({ kind: 'user', event: event as UserEvent })))
      cleanups.push(
        bus.presence.onChange((change) => {
          if (change.userId !== me && roomMembers.shares(unsubs.keys(), change.userId)) queue.push({ kind: 'presence', event: { type: 'presence', ...change } })
        }),
      )
      const rooms = await database.repos.rooms.unreadForUser(ctx.user._id)
      await Promise.all(rooms.map((r) => follow(r.roomId, r.unread)))
      // Holding a user stream is being online (cluster-wide with Redis); the
      // last stream of a user to close, or a crashed node's expiry, ends it.
      const release = await bus.presence.connect(me)
      cleanups.push(() => void release())

      for (;;) {
        const item = await queue.next()
        if (!item) return
        if (item.kind === 'presence') {
          yield item.event
          continue
        }
        if (item.kind === 'user') {
          const event = item.event
          if (event.type === 'room.added') await follow(event.room.id, event.room.unread)
          else if (event.type === 'room.removed') unfollow(event.roomId)
          else if (event.type === 'room.activity') unread.set(event.roomId, event.unread)
          yield event
          if (event.type === 'session.revoked') return
          continue
        }
        const event = item.msg.event
        if (event.type === 'message.created' && unread.has(event.roomId)) {
          const count = event.message.author.id === me ? unread.get(event.roomId)! : unread.get(event.roomId)! + 1
          unread.set(event.roomId, count)
          yield { type: 'room.activity', roomId: event.roomId, seq: event.seq, unread: count, lastMessage: event.message } satisfies UserEvent
        }
      }
    } finally {
      ended = true
      for (const off of cleanups) off()
      for (const off of unsubs.values()) off()
    }
  }),
})

export const typingRouter = router({
  /** Members watching the room see `typing` for a few seconds. Ephemeral: bus only, never stored. */
  start: protectedProcedure.input(TypingInput).mutation(async ({ ctx, input }) => {
    await requireMemberCached(ctx, input.roomId)
    await rateLimit(ctx, `typing:${ctx.user._id.toHexString()}`, ctx.deps.limits.typingPerWindow, 10_000, 'typing signals')
    const msg: RoomBusMessage = { event: { type: 'typing', roomId: input.roomId, user: toPublicUser(ctx.user) }, at: Date.now() }
    ctx.deps.bus.publish(roomChannel(input.roomId), msg)
    return { ok: true as const, expiresInMs: ctx.deps.limits.typingMs }
  }),
})
