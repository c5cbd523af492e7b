import { tracked } from '@trpc/server'
import { toPublicUser } from '@parley/db'
import { RoomEventsInput, TypingInput, type RoomStreamEvent, type UserEvent } from '@parley/schemas'
import { limitUser, requireMemberCached, requireMemberOrNotFound, roomChannel, type RoomBusMessage } from '../access.ts'
import { createQueue } from '../lib/queue.ts'
import { protectedProcedure, router } from '../trpc.ts'

/** A hub's stream as a tRPC generator, for the transports the WebSocket gateway does not serve. */
async function* generate<E>(signal: AbortSignal | undefined, open: (sink: { push(event: E): void; end(error?: unknown): void }) => { close(): void }) {
  const queue = createQueue<{ event: E } | { end: unknown }>(signal)
  const stream = open({ push: (event) => queue.push({ event }), end: (error) => queue.push({ end: error }) })
  try {
    for (;;) {
      const item = await queue.next()
      if (!item) return
      if ('end' in item) {
        if (item.end) throw item.end
        return
      }
      yield item.event
    }
  } finally {
    stream.close()
  }
}

export const eventsRouter = router({
  /**
   * A room's events, exactly once and in seq order, across reconnects and nodes
   * (the guarantees live in the room hub, live/room-hub.ts). Over WebSocket the
   * gateway in live/ws-streams.ts answers this procedure without running it;
   * this generator serves every other caller with the same hub.
   */
  room: protectedProcedure.input(RoomEventsInput).subscription(async function* ({ ctx, input, signal }) {
    const { room } = await requireMemberOrNotFound(ctx, input.roomId)
    const resumeFrom = input.lastEventId == null ? null : Number(input.lastEventId)
    const me = ctx.user._id.toHexString()
    for await (const event of generate<RoomStreamEvent>(signal, (sink) => ctx.deps.roomHub.open(room, me, resumeFrom, sink))) {
      yield event.type === 'typing' ? event : tracked(String(event.seq), event)
    }
  }),

  /**
   * Per-user signals: activity and unread counts in the user's rooms, rooms
   * added/removed, presence of people who share a room, this session's
   * revocation (live/user-hub.ts). Not resumable: after a reconnect the client
   * refetches rooms.list. Over WebSocket the gateway serves it, like events.room.
   */
  user: protectedProcedure.subscription(({ ctx, signal }) =>
    generate<UserEvent>(signal, (sink) =>
      ctx.deps.userHub.open(ctx.user._id.toHexString(), ctx.session.session._id, { push: (json) => sink.push(JSON.parse(json) as UserEvent), end: sink.end }),
    ),
  ),
})

export const typingRouter = router({
  /** Members watching the room see `typing` for a few seconds. Ephemeral: bus only, never stored. */
  start: protectedProcedure.input(TypingInput).mutation(async ({ ctx, input }) => {
    await requireMemberCached(ctx, input.roomId)
    const { typingMs } = ctx.deps.limits
    await limitUser(ctx, 'typing')
    const msg: RoomBusMessage = {
      event: { type: 'typing', roomId: input.roomId, user: toPublicUser(ctx.user), expiresInMs: typingMs },
      at: Date.now(),
    }
    ctx.deps.bus.publish(roomChannel(input.roomId), msg)
    return { ok: true as const, expiresInMs: typingMs }
  }),
})
