import { tracked } from '@trpc/server'
import { ObjectId, toPublicUser, type EventDoc } from '@parley/db'
import { RoomEventsInput, TypingInput, type RoomEvent, type RoomStreamEvent, type UserEvent } from '@parley/schemas'
import { rateLimit, requireMemberCached, requireMemberOrNotFound, roomChannel, userChannel, type RoomBusMessage } from '../access.ts'
import { createQueue } from '../lib/queue.ts'
import { protectedProcedure, router } from '../trpc.ts'

/** What a room subscription's queue holds: bus traffic, or a nudge to catch up from the database. */
type RoomItem = { kind: 'bus'; msg: RoomBusMessage } | { kind: 'resync'; at: number }

const REPLAY_BATCH = 200

export const eventsRouter = router({
  /**
   * A room's events, exactly once and in seq order, across reconnects and nodes.
   * Attach to the bus first, then replay from the database, then go live,
   * dropping what was already sent and filling any gap from the database.
   */
  room: protectedProcedure.input(RoomEventsInput).subscription(async function* ({ ctx, input, signal }) {
    const { database, bus, limits, metrics } = ctx.deps
    const { room } = await requireMemberOrNotFound(ctx, input.roomId)
    const me = ctx.user._id.toHexString()
    const log = database.repos.events
    const queue = createQueue<RoomItem>(signal)
    const unsubscribe = await bus.subscribe(roomChannel(input.roomId), (msg) => {
      const { event } = msg as RoomBusMessage
      // Events from other nodes keep this node's next seq guess current (fewer append conflicts).
      if ('seq' in event && event.type !== 'reset') log.observe(room._id, event.seq)
      queue.push({ kind: 'bus', msg: msg as RoomBusMessage })
    })
    const stopResync = bus.onResync(() => queue.push({ kind: 'resync', at: Date.now() }))
    metrics?.subscriptionOpened()
    try {
      const latest = await log.latestSeq(room._id)
      let last = input.lastEventId == null ? latest : Number(input.lastEventId)

      const reset = (seq: number) => tracked(String(seq), { type: 'reset', roomId: input.roomId, seq, epoch: room.epoch } satisfies RoomStreamEvent)
      // A position ahead of the log means the store was reset: start over.
      if (last > latest || latest - last > limits.resumeMaxEvents) {
        yield reset(latest)
        last = latest
      }

      /** Everything in the database after `last` (up to `before`, exclusive), in order. */
      async function* fromDatabase(before = Infinity) {
        for (;;) {
          const batch: EventDoc[] = before === Infinity ? await log.after(room._id, last, REPLAY_BATCH) : await log.between(room._id, last, before)
          for (const e of batch) yield e
          if (batch.length < REPLAY_BATCH || before !== Infinity) return
        }
      }

      const deliver = (event: RoomEvent) => {
        last = event.seq
        metrics?.eventDelivered(1)
        return tracked(String(event.seq), event)
      }

      for await (const e of fromDatabase()) {
        if (e.seq !== last + 1) break
        yield deliver(e.data)
      }

      for (;;) {
        const item = await queue.next()
        if (!item) return
        if (item.kind === 'resync') {
          // Most resyncs find nothing new: one shared query per room tells.
          if ((await log.latestSeqShared(room._id, item.at)) <= last) continue
          for await (const e of fromDatabase()) {
            if (e.seq !== last + 1) break
            yield deliver(e.data)
          }
          continue
        }
        const event = item.msg.event
        if (event.type === 'typing') {
          if (event.user.id !== me) yield event
          continue
        }
        if (event.type === 'reset' || event.seq <= last) continue
        if (event.seq > last + 1) {
          if (event.seq - last > limits.resumeMaxEvents) {
            yield reset(event.seq - 1)
            last = event.seq - 1
          } else {
            for await (const e of fromDatabase(event.seq)) {
              if (e.seq !== last + 1) break
              yield deliver(e.data)
            }
          }
          // Still a hole (should not happen: lower seqs are readable first): fetch again later.
          if (event.seq !== last + 1) {
            queue.push({ kind: 'resync', at: Date.now() })
            continue
          }
        }
        metrics?.fanoutLatency((Date.now() - item.msg.at) / 1000)
        // A membership change made on another node: stop trusting this node's cached copy now.
        if (event.type === 'member.left' || event.type === 'member.updated') ctx.deps.membership.forget(event.roomId, event.userId)
        yield deliver(event)
        // Removed from the room: this stream ends here.
        if (event.type === 'member.left' && event.userId === me) return
      }
    } finally {
      metrics?.subscriptionClosed()
      stopResync()
      unsubscribe()
    }
  }),

  /**
   * Per-user signals: activity and unread counts in the user's rooms, rooms
   * added/removed, presence of people who share a room. Not resumable: after a
   * reconnect the client refetches rooms.list.
   */
  user: protectedProcedure.subscription(async function* ({ ctx, signal }) {
    const { database, bus } = ctx.deps
    const me = ctx.user._id.toHexString()
    type Item = { kind: 'user'; event: UserEvent } | { kind: 'room'; msg: RoomBusMessage } | { kind: 'presence'; event: UserEvent }
    const queue = createQueue<Item>(signal)
    const unsubs = new Map<string, () => void>()
    const unread = new Map<string, number>()
    const peers = new Map<string, number>() // userId → number of shared rooms
    const cleanups: (() => void)[] = []

    async function follow(roomId: string, unreadCount: number) {
      unread.set(roomId, unreadCount)
      if (unsubs.has(roomId)) return
      unsubs.set(roomId, () => {})
      const off = await bus.subscribe(roomChannel(roomId), (msg) => queue.push({ kind: 'room', msg: msg as RoomBusMessage }))
      unsubs.set(roomId, off)
      for (const id of await database.repos.rooms.memberIds(new ObjectId(roomId))) peers.set(id, (peers.get(id) ?? 0) + 1)
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
          if (change.userId !== me && peers.has(change.userId)) queue.push({ kind: 'presence', event: { type: 'presence', ...change } })
        }),
      )
      const rooms = await database.repos.rooms.listForUser(ctx.user._id)
      await Promise.all(rooms.map((r) => follow(r.id, r.unread)))
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
        } else if (event.type === 'member.joined') {
          peers.set(event.member.user.id, (peers.get(event.member.user.id) ?? 0) + 1)
        }
      }
    } finally {
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
