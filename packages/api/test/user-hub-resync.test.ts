/**
 * After the bus lost messages, each node reads its users' rooms again. When
 * that read fails too (MongoDB briefly away as well), it is tried again: a
 * member removed meanwhile must still be told, or the room's activity (with
 * message text) keeps reaching a list they are no longer in.
 * Real parts: MongoDB through the driver (MONGODB_URL, else the embedded
 * server), the in-process bus; the bus's loss and the failed read are
 * simulated, as nothing here can cut the in-process bus or the database.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createMemoryBus, type Bus, type ResyncCause } from '@parley/bus'
import { ObjectId } from '@parley/db'
import { openTestDatabase, type TestDatabase } from '@parley/db/testing'
import { createUserHub } from '../src/live/user-hub.ts'

let database: TestDatabase
beforeAll(async () => {
  database = await openTestDatabase()
})
afterAll(async () => {
  await database.drop()
})

const person = (name: string) => ({ id: new ObjectId().toHexString(), username: name, displayName: name })

it('a removal the bus lost reaches the member even when the first read after the loss fails', async () => {
  const memory = createMemoryBus({ nodeId: 'n1' })
  const resyncs: ((cause: ResyncCause) => void)[] = []
  const bus: Bus = { ...memory, onResync: (handler) => (resyncs.push(handler), memory.onResync(handler)) }
  const owner = person('resync-owner')
  const member = person('resync-member')
  const room = await database.repos.rooms.create({ name: 'resync', visibility: 'public', owner })
  await database.repos.rooms.addMember(room, member, 'member')

  let starting = 0
  const hub = createUserHub({ database, bus, loadConcurrency: 4, presenceRoomMaxMembers: 100, metrics: { userStreamsStarting: (d) => (starting += d) } })
  const frames: { type: string; roomId?: string; reason?: string }[] = []
  hub.open(member.id, 'session', { push: (json) => frames.push(JSON.parse(json) as (typeof frames)[number]), end: () => {} })
  await expect.poll(() => starting).toBe(0)

  // Kicked through a node whose publishes were lost: only the database knows.
  await database.repos.rooms.removeMember(room._id, new ObjectId(member.id), 'kicked')
  // The read after the loss fails once.
  const rooms = database.repos.rooms
  const original = rooms.membershipsOf
  let failures = 0
  rooms.membershipsOf = (userId) => (failures++ === 0 ? Promise.reject(new Error('connection reset')) : original(userId))
  try {
    for (const handler of resyncs) handler('reconnected')
    await expect.poll(() => frames.find((f) => f.type === 'room.removed'), { timeout: 5_000 }).toEqual({ type: 'room.removed', roomId: room._id.toHexString(), reason: 'kicked' })
    expect(failures).toBeGreaterThanOrEqual(2)
  } finally {
    rooms.membershipsOf = original
    hub.close()
  }
})
