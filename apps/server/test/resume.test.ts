import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ObjectId } from '@parley/db'
import type { RoomStreamEvent } from '@parley/schemas'
import { startTestServer, type TestServer } from './factory.ts'
import { range, send, seqsOf, watchRoom } from './helpers.ts'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.stop())

describe('gap-free resume', () => {
  it('replays exactly the missed events, once, in order', async () => {
    const writer = await server.signUp()
    const reader = await server.signUp()
    const room = await writer.trpc.rooms.create.mutate({ name: 'resume', visibility: 'public' })
    await reader.trpc.rooms.join.mutate({ roomId: room.id })
    const before = watchRoom(reader, room.id)
    await before.started
    const first = await send(writer, room.id, 'before the tunnel')
    await before.until((e) => seqsOf(e).includes(first.seq))
    const lastSeen = before.lastId!
    before.stop()

    // While the reader is away: 200 messages, then edits and deletes of some of them.
    const sent = []
    for (let i = 0; i < 200; i++) sent.push(await send(writer, room.id, `missed ${i}`))
    for (const m of sent.slice(0, 10)) await writer.trpc.messages.edit.mutate({ messageId: m.id, body: `${m.body} (edited)` })
    for (const m of sent.slice(10, 15)) await writer.trpc.messages.delete.mutate({ messageId: m.id })
    const latest = (await writer.trpc.rooms.get.query({ roomId: room.id })).seq

    const after = watchRoom(reader, room.id, lastSeen)
    await after.until((e) => seqsOf(e).at(-1) === latest)
    expect(seqsOf(after.items)).toEqual(range(Number(lastSeen) + 1, latest))
    expect(after.items.filter((e) => e.type === 'message.created')).toHaveLength(200)
    expect(after.items.filter((e) => e.type === 'message.updated')).toHaveLength(10)
    expect(after.items.filter((e) => e.type === 'message.deleted')).toHaveLength(5)
    // And it carries on live after the replay.
    const live = await send(writer, room.id, 'back online')
    await after.until((e) => seqsOf(e).includes(live.seq))
    expect(seqsOf(after.items)).toEqual(range(Number(lastSeen) + 1, live.seq))
    after.stop()
  })

  it('tells a subscriber 10,000 events behind to reset instead of replaying', async () => {
    const u = await server.signUp()
    const room = await u.trpc.rooms.create.mutate({ name: 'busy', visibility: 'public' })
    // Seed 10,000 events straight into the log (fixture setup; the reset logic is what is under test).
    const roomId = new ObjectId(room.id)
    const author = { id: u.user.id, username: u.user.username, displayName: u.user.displayName }
    for (let i = 0; i < 10_000; i += 1000) {
      await server.database.collections.events.insertMany(
        range(i + 2, i + 1001).map((seq) => ({
          _id: new ObjectId(),
          roomId,
          seq,
          createdAt: new Date(),
          data: { type: 'message.created' as const, roomId: room.id, seq, message: { id: new ObjectId().toHexString(), roomId: room.id, seq, author, body: `seed ${seq}`, createdAt: new Date().toISOString(), editedAt: null, deleted: false, clientId: `seed-${seq}`, reactions: [] } },
        })),
      )
    }
    const latest = (await u.trpc.rooms.get.query({ roomId: room.id })).seq
    expect(latest).toBe(10_001)
    const sub = watchRoom(u, room.id, '1')
    await sub.until((e) => e.length > 0)
    await new Promise((r) => setTimeout(r, 200))
    expect(sub.items).toEqual([{ type: 'reset', roomId: room.id, seq: latest, epoch: room.epoch }])
    // After the reset it is live from the new position.
    const next = await send(u, room.id, 'fresh')
    await sub.until((e) => seqsOf(e).includes(next.seq))
    expect(seqsOf(sub.items)).toEqual([latest + 1])
    sub.stop()
  }, 120_000)

  it('resets a client whose position is ahead of the log (a reset store)', async () => {
    const u = await server.signUp()
    const room = await u.trpc.rooms.create.mutate({ name: 'reset', visibility: 'public' })
    const sub = watchRoom(u, room.id, '999')
    await sub.until((e) => e.length > 0)
    expect(sub.items[0]).toMatchObject({ type: 'reset', seq: 1 })
    sub.stop()
  })
})

describe('ordering under concurrency', () => {
  it('20 senders × 50 messages: every subscriber sees every seq once, in order', async () => {
    const owner = await server.signUp()
    const room = await owner.trpc.rooms.create.mutate({ name: 'storm', visibility: 'public' })
    const senders = await Promise.all(range(1, 20).map(() => server.signUp()))
    for (const s of senders) await s.trpc.rooms.join.mutate({ roomId: room.id })
    const startSeq = (await owner.trpc.rooms.get.query({ roomId: room.id })).seq
    const watchers = await Promise.all(range(1, 2).map(() => server.signUp()))
    for (const w of watchers) await w.trpc.rooms.join.mutate({ roomId: room.id })
    const base = (await owner.trpc.rooms.get.query({ roomId: room.id })).seq
    expect(base).toBe(startSeq + 2)

    const steady = watchers.map((w) => watchRoom(w, room.id, String(base)))
    // The third subscriber drops and resubscribes every 100 ms with its last id.
    const hopper = await server.signUp()
    await hopper.trpc.rooms.join.mutate({ roomId: room.id })
    const hopperBase = base + 1
    const hopped: RoomStreamEvent[] = []
    let current = watchRoom(hopper, room.id, String(hopperBase))
    let hopping = true
    const hopLoop = (async () => {
      let lastId = String(hopperBase)
      while (hopping) {
        await new Promise((r) => setTimeout(r, 100))
        current.stop()
        hopped.push(...current.items)
        lastId = current.lastId ?? lastId
        current = watchRoom(hopper, room.id, lastId)
      }
    })()

    const acked = await Promise.all(senders.map((s, i) => (async () => {
      const out = []
      for (let n = 0; n < 50; n++) out.push(await send(s, room.id, `s${i} m${n}`, randomUUID()))
      return out
    })()))
    const last = Math.max(...acked.flat().map((m) => m.seq))
    expect(last).toBe(hopperBase + 1000)
    for (const w of steady) await w.until((e) => seqsOf(e).at(-1) === last, 30_000)
    hopping = false
    await hopLoop
    await current.until((e) => (seqsOf(e).at(-1) ?? 0) >= last || seqsOf(hopped).at(-1) === last, 30_000)
    hopped.push(...current.items)
    current.stop()

    for (const w of steady) expect(seqsOf(w.items)).toEqual(range(base + 1, last))
    expect(seqsOf(hopped)).toEqual(range(hopperBase + 1, last))
    const bodies = steady[0]!.items.flatMap((e) => (e.type === 'message.created' ? [e.message.body] : []))
    expect(new Set(bodies).size).toBe(1000)
    steady.forEach((w) => w.stop())
  }, 120_000)
})
