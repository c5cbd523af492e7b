/**
 * A crowd reconnecting: each client's `events.user` stream waits its turn to
 * load while its room list is asked for at once. The lists follow their rooms
 * ahead of the loads, so each room's newest message is read once for the
 * crowd, not once per list — and what they follow ahead is let go again.
 * Real parts: MongoDB through the driver (MONGODB_URL, else the embedded
 * server), the in-process bus.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createMemoryBus } from '@parley/bus'
import { ObjectId, type RoomDoc } from '@parley/db'
import { openTestDatabase, type TestDatabase } from '@parley/db/testing'
import { roomChannel, type RoomBusMessage } from '../src/access.ts'
import { createUserHub } from '../src/live/user-hub.ts'

let database: TestDatabase
let commands = 0
beforeAll(async () => {
  database = await openTestDatabase(() => commands++)
})
afterAll(async () => {
  await database.drop()
})

const person = (name: string) => ({ id: new ObjectId().toHexString(), username: name, displayName: name })

it("a crowd's room lists, asked while its streams wait to load, read each room's newest message once; what they followed ahead is let go", async () => {
  const bus = createMemoryBus({ nodeId: 'n1' })
  const owner = person('ahead-owner')
  const crowd = Array.from({ length: 8 }, (_, i) => person(`ahead-${i}`))
  const leaver = person('ahead-leaver')
  const { rooms, messages } = database.repos
  /** A message by the owner, written and published as messages.send does. */
  const send = async (room: RoomDoc, body: string) => {
    const { event } = await messages.send({ roomId: room._id, author: owner, clientId: randomBytes(6).toString('hex'), body })
    bus.publish(roomChannel(room._id.toHexString()), { event: event!.data, at: Date.now() } satisfies RoomBusMessage)
    return event!.data
  }
  const shared: RoomDoc[] = []
  for (const name of ['ahead-a', 'ahead-b', 'ahead-c']) {
    const room = await rooms.create({ name, visibility: 'public', owner })
    for (const p of crowd) await rooms.addMember(room, p, 'member')
    await send(room, `hello from ${name}`)
    shared.push(room)
  }
  // A room only the leaver is in, which they leave while their stream waits.
  const left = await rooms.create({ name: 'ahead-left', visibility: 'public', owner })
  await rooms.addMember(left, leaver, 'member')
  await send(left, 'before leaving')

  // The node's loads are held until the crowd has its lists (the real query still runs).
  let openGate!: () => void
  const gate = new Promise<void>((resolve) => (openGate = resolve))
  const membershipsOf = rooms.membershipsOf
  rooms.membershipsOf = async (...args) => {
    await gate
    return membershipsOf(...args)
  }
  let starting = 0
  const hub = createUserHub({ database, bus, loadConcurrency: 1, presenceRoomMaxMembers: 100, metrics: { userStreamsStarting: (d) => (starting += d) } })
  const frames = new Map<string, { type: string; roomId?: string; unread?: number }[]>()
  const streams = [...crowd, leaver].map((p) => {
    frames.set(p.id, [])
    return hub.open(p.id, `session-${p.id}`, { push: (json) => frames.get(p.id)!.push(JSON.parse(json) as { type: string }), end: () => {} })
  })
  const list = async (p: { id: string }) => {
    const before = commands
    const items = await rooms.listForUser(new ObjectId(p.id), hub.newestMessagesFor(p.id))
    return { previews: items.map((r) => `${r.name}: ${r.lastMessage?.body}`).sort(), used: commands - before }
  }
  try {
    // The crowd's lists come one after another, as they do over a storm's seconds.
    const waiting = []
    for (const p of crowd) waiting.push(await list(p))
    const previews = ['ahead-a: hello from ahead-a', 'ahead-b: hello from ahead-b', 'ahead-c: hello from ahead-c']
    for (const l of waiting) expect(l.previews).toEqual(previews)
    // A message sent meanwhile is heard: the next list shows it without a read of its own.
    await send(shared[0]!, 'news while waiting')
    const afterNews = await list(crowd[0]!)
    expect(afterNews.previews[0]).toBe('ahead-a: news while waiting')

    expect((await list(leaver)).previews).toEqual(['ahead-left: before leaving'])
    await rooms.removeMember(left._id, new ObjectId(leaver.id), 'left')

    openGate()
    await expect.poll(() => starting).toBe(0)
    // Once loaded, the users' own records follow their rooms: a list costs what every list after the first did while waiting.
    const loaded = await list(crowd[1]!)
    expect(loaded.previews).toEqual(['ahead-a: news while waiting', ...previews.slice(1)])
    for (const l of waiting.slice(1)) expect(l.used).toBe(loaded.used)
    expect(afterNews.used).toBe(loaded.used)
    expect(waiting[0]!.used).toBeGreaterThan(loaded.used)

    // The streams count from their load: the message sent while they waited, and the next one.
    await send(shared[0]!, 'after the load')
    for (const p of crowd) await expect.poll(() => frames.get(p.id)!.filter((f) => f.type === 'room.activity').at(-1)?.unread).toBe(3)
    // The room the leaver followed ahead and then left is let go: this node no longer follows it, and their stream hears nothing of it.
    expect(await hub.newestMessagesFor(owner.id)(left._id.toHexString())).toBeUndefined()
    await send(left, 'after leaving')
    expect(await hub.newestMessagesFor(owner.id)(shared[1]!._id.toHexString())).toMatchObject({ body: 'hello from ahead-b' })
    expect(frames.get(leaver.id)!.filter((f) => f.roomId === left._id.toHexString())).toEqual([])
  } finally {
    rooms.membershipsOf = membershipsOf
    for (const s of streams) s.close()
    hub.close()
  }
})
