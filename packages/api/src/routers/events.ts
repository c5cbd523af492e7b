import { TRPCError, tracked } from '@trpc/server'
import { toPublicUser } from '@parley/db'
import { RoomEventsInput, TypingInput, type RoomStreamEvent, type UserEvent } from '@parley/schemas'
import { limitUser, requireMemberCached, requireMemberOrNotFound, roomChannel, type AuthedContext, type RoomBusMessage } from '../access.ts'
import { createQueue } from '../lib/queue.ts'
import { protectedProcedure, router } from '../trpc.ts'

/**
 * A hub's stream as a tRPC generator, for the transports the WebSocket gateway
 * does not serve (server-sent events over HTTP). What the gateway's socket does
 * for its streams, this does for one: it ends when the session is revoked or
 * lapses, and when the client falls `streamMaxQueued` events behind (a reader
 * that stopped reading would otherwise hold every event in memory; it resumes
 * from the last id it got).
 */
async function* generate<E>(
  ctx: AuthedContext,
  signal: AbortSignal | undefined,
  open: (sink: { push(event: E): void; end(error?: unknown): void }) => { close(): void },
) {
  const queue = createQueue<{ event: E } | { end: unknown }>(signal)
  const { streamMaxQueued } = ctx.deps.limits
  let ended = false
  const end = (error?: unknown) => {
    if (ended) return
    ended = true
    queue.push({ end: error })
  }
  const stream = open({
    push(event) {
      if (ended) return
      if (queue.size < streamMaxQueued) queue.push({ event })
      else end(new TRPCError({ code: 'TIMEOUT', message: `Too far behind (${streamMaxQueued} events unread): resume from the last event id` }))
    },
    end,
  })
  const watching = ctx.deps.auth.watchRevocation(ctx.session, () => end(new TRPCError({ code: 'UNAUTHORIZED', message: 'Session ended, sign in again' })))
  watching.catch((err: unknown) => ctx.deps.log.warn({ err }, 'revocation watch failed'))
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
    void watching.then((stop) => stop(), () => {})
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
    for await (const event of generate<RoomStreamEvent>(ctx, signal, (sink) => ctx.deps.roomHub.open(room, me, resumeFrom, sink))) {
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
    generate<UserEvent>(ctx, signal, (sink) =>
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
