/**
 * A crowd resuming in a room this node has just attached (a node died and its
 * clients moved here) is served from the events read when the room attached,
 * not one log read each. Real parts: MongoDB through the driver (MONGODB_URL,
 * else the embedded server), the in-process bus.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createMemoryBus } from '@parley/bus'
import { ObjectId } from '@parley/db'
import { openTestDatabase, type TestDatabase } from '@parley/db/testing'
import type { RoomStreamEvent } from '@parley/schemas'
import { createRoomHub } from '../src/live/room-hub.ts'

let database: TestDatabase
let finds = 0
beforeAll(async () => {
  database = await openTestDatabase((name) => void (name === 'find' && finds++))
})
afterAll(async () => {
  await database.drop()
})

it('a crowd resuming in a room just attached gets every event after its position, from one read of the log', async () => {
  const owner = { id: new ObjectId().toHexString(), username: 'resume-owner', displayName: 'Owner' }
  const room = await database.repos.rooms.create({ name: 'resume', visibility: 'public', owner })
  for (let i = 1; i <= 40; i++) await database.repos.messages.send({ roomId: room._id, author: owner, clientId: `m${i}`, body: `message ${i}` })
  const hub = createRoomHub({ database, bus: createMemoryBus({ nodeId: 'n1' }), resumeMaxEvents: 1000, replayBufferEvents: 256, gapWaitMs: 50 })

  // 30 clients a few events behind (as after a node's death), and one far behind.
  const positions = [...Array.from({ length: 30 }, (_, i) => 40 - (i % 6)), 2]
  const received = positions.map(() => [] as number[])
  const before = finds
  const streams = positions.map((from, i) =>
    hub.open(room, new ObjectId().toHexString(), from, {
      push: (event: RoomStreamEvent) => void ('seq' in event && received[i]!.push(event.seq)),
      end: (err) => {
        throw new Error(`stream ${i} ended: ${String(err)}`)
      },
    }),
  )
  await expect.poll(() => received.every((got, i) => got.length === 40 - positions[i]!)).toBe(true)

  // Everyone got exactly the events after their position, in order.
  received.forEach((got, i) => expect(got).toEqual(Array.from({ length: 40 - positions[i]! }, (_, k) => positions[i]! + 1 + k)))
  // One read when the room attached (its newest events), one for the client further back than that read.
  expect(finds - before).toBe(2)
  for (const s of streams) s.close()
  hub.close()
})
