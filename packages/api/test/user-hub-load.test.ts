/**
 * A user's first stream loads their unread counts while messages keep coming:
 * a message written while the counts are read must be counted exactly once.
 * After the bus lost messages the user's rooms are read again, and a read
 * that fails (MongoDB away too) is tried again until it succeeds: a member
 * removed meanwhile must still be told. A user gone is not read again.
 * Real parts: MongoDB through the driver (MONGODB_URL, else the embedded
 * server), the in-process bus; the bus's loss and a failed read are
 * simulated, as nothing here can cut the in-process bus or the database.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createMemoryBus, type Bus, type ResyncCause } from '@parley/bus'
import { ObjectId } from '@parley/db'
import { openTestDatabase, type TestDatabase } from '@parley/db/testing'
import { roomChannel, type RoomBusMessage } from '../src/access.ts'
import { createUserHub } from '../src/live/user-hub.ts'

let database: TestDatabase
beforeAll(async () => {
  database = await openTestDatabase()
})
afterAll(async () => {
  await database.drop()
})

const person = (name: string) => ({ id: new ObjectId().toHexString(), username: name, displayName: name })

async function setUp(name: string, bus: Bus = createMemoryBus({ nodeId: 'n1' }), resyncRetryMs?: { first: number; max: number }) {
  const owner = person(`${name}-owner`)
  const reader = person(`${name}-reader`)
  const room = await database.repos.rooms.create({ name, visibility: 'public', owner })
  await database.repos.rooms.addMember(room, reader, 'member')
  /** A message by the owner, written and published as messages.send does. */
  const send = async (body: string) => {
    const { event } = await database.repos.messages.send({ roomId: room._id, author: owner, clientId: randomBytes(6).toString('hex'), body })
    bus.publish(roomChannel(room._id.toHexString()), { event: event!.data, at: Date.now() } satisfies RoomBusMessage)
  }
  let starting = 0
  const hub = createUserHub({ database, bus, loadConcurrency: 4, presenceRoomMaxMembers: 100, metrics: { userStreamsStarting: (d) => (starting += d) }, resyncRetryMs })
  const frames: { type: string; unread?: number; roomId?: string; reason?: string }[] = []
  /** Opens the reader's stream and waits until it has started (rooms followed, counts loaded). */
  const open = async () => {
    const stream = hub.open(reader.id, 'session', { push: (json) => frames.push(JSON.parse(json) as (typeof frames)[number]), end: () => {} })
    await expect.poll(() => starting).toBe(0)
    return stream
  }
  return { room, reader, send, open, frames, hub }
}

/** Runs `during` around the user hub's count query (the real one still runs). */
function aroundCounts(during: { before?: () => Promise<void>; after?: () => Promise<void> }) {
  const rooms = database.repos.rooms
  const original = rooms.unreadOf
  rooms.unreadOf = async (...args) => {
    await during.before?.()
    const counts = await original(...args)
    await during.after?.()
    return counts
  }
  return () => (rooms.unreadOf = original)
}

it.each([
  ['just after the counts were read', 'after'],
  ['while they are read (counted by the query and heard)', 'before'],
] as const)('a message written %s is counted once', async (_, when) => {
  const { send, open, frames, room, reader } = await setUp(`load-${when}`)
  await send('old one')
  await send('old two')
  const restore = aroundCounts({ [when]: () => send('during the load') })
  try {
    await open()
    // The next message's room.activity carries the stream's count: 2 old + the one during the load + this one.
    await send('after the load')
    await expect.poll(() => frames.filter((f) => f.type === 'room.activity').at(-1)?.unread).toBe(4)
    // …as the room list says.
    expect((await database.repos.rooms.listForUser(new ObjectId(reader.id))).find((r) => r.id === room._id.toHexString())?.unread).toBe(4)
  } finally {
    restore()
  }
})

/** A hub whose bus loss the test announces (`lose()`), with the reader kicked meanwhile through a node whose publishes were lost. */
async function afterALoss(name: string, resyncRetryMs?: { first: number; max: number }) {
  const memory = createMemoryBus({ nodeId: 'n1' })
  const resyncs: ((cause: ResyncCause) => void)[] = []
  const bus: Bus = { ...memory, onResync: (handler) => (resyncs.push(handler), memory.onResync(handler)) }
  const hub = await setUp(name, bus, resyncRetryMs)
  const stream = await hub.open()
  // Only the database knows.
  await database.repos.rooms.removeMember(hub.room._id, new ObjectId(hub.reader.id), 'kicked')
  const lose = () => {
    for (const handler of resyncs) handler('reconnected')
  }
  return { ...hub, stream, lose }
}

/** Makes the hub's reads of memberships fail while `failing()` says so; counts the tries. */
function failMembershipReads(failing: (tries: number) => boolean) {
  const rooms = database.repos.rooms
  const original = rooms.membershipsOf
  const reads = { tries: 0, restore: () => (rooms.membershipsOf = original) }
  rooms.membershipsOf = (userId) => (failing(++reads.tries) ? Promise.reject(new Error('connection reset')) : original(userId))
  return reads
}

it.each([
  // Tried again 1 s later, as in production.
  ['even when the first read after the loss fails', 1, undefined],
  // Tried 10, 20, 40, 40 … ms apart (1 s doubling to 30 s in production): the read is tried until it succeeds.
  ['…and when MongoDB stays away longer than the first few tries', 8, { first: 10, max: 40 }],
] as const)('a removal the bus lost reaches the member %s', async (_, failures, resyncRetryMs) => {
  const { room, frames, hub, lose } = await afterALoss(`resync-${failures}`, resyncRetryMs)
  const reads = failMembershipReads((tries) => tries <= failures)
  try {
    lose()
    await expect.poll(() => frames.find((f) => f.type === 'room.removed'), { timeout: 5_000 }).toEqual({ type: 'room.removed', roomId: room._id.toHexString(), reason: 'kicked' })
    expect(reads.tries).toBe(failures + 1)
  } finally {
    reads.restore()
    hub.close()
  }
})

it('a user whose streams all closed is not read again, however long MongoDB stays away', async () => {
  const { hub, stream, lose } = await afterALoss('resync-gone', { first: 10, max: 10 })
  const reads = failMembershipReads(() => true)
  try {
    lose()
    await expect.poll(() => reads.tries).toBeGreaterThanOrEqual(2)
    stream.close()
    const after = reads.tries
    await new Promise((resolve) => setTimeout(resolve, 200)) // twenty tries' worth
    expect(reads.tries - after).toBeLessThanOrEqual(1) // one already under way may still land
  } finally {
    reads.restore()
    hub.close()
  }
})
