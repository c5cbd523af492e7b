/**
 * Two nodes appending to one room publish in the order their writes are
 * acknowledged, not the order they were committed, so a room's event often
 * reaches a node's hub just ahead of the one before it. Subscribers must get
 * both in seq order; the hub waits a moment for the missing one to arrive
 * over the bus instead of reading the log on every node, and reads the log
 * only when it does not come. Real parts: MongoDB through the driver
 * (MONGODB_URL, else the embedded server), the in-process bus.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createMemoryBus } from '@parley/bus'
import { ObjectId, type EventDoc } from '@parley/db'
import { openTestDatabase, type TestDatabase } from '@parley/db/testing'
import type { PublicUser, RoomStreamEvent } from '@parley/schemas'
import { roomChannel, type RoomBusMessage } from '../src/access.ts'
import { createRoomHub } from '../src/live/room-hub.ts'

let database: TestDatabase
let finds = 0
beforeAll(async () => {
  database = await openTestDatabase((name) => void (name === 'find' && finds++))
})
afterAll(async () => {
  await database.drop()
})

const bus = createMemoryBus({ nodeId: 'n1' })
const owner: PublicUser = { id: new ObjectId().toHexString(), username: 'order-owner', displayName: 'Owner' }
const publish = (event: EventDoc) => bus.publish(roomChannel(event.roomId.toHexString()), { event: event.data, at: event.createdAt.getTime() } satisfies RoomBusMessage)

/** Commits a message to the log (as another node would) and returns its event, unpublished. */
async function commit(roomId: ObjectId, body: string): Promise<EventDoc> {
  const { event } = await database.repos.messages.send({ roomId, author: owner, clientId: body, body })
  if (!event) throw new Error('not appended')
  return event
}

/** A room watched by one live subscriber that has received the room's first message. */
async function watchedRoom(gapWaitMs: number) {
  const room = await database.repos.rooms.create({ name: 'order', visibility: 'public', owner })
  const hub = createRoomHub({ database, bus, resumeMaxEvents: 1000, replayBufferEvents: 256, gapWaitMs })
  const seqs: number[] = []
  const stream = hub.open(room, owner.id, await database.repos.events.latestSeq(room._id), {
    push: (event: RoomStreamEvent) => void (event.type === 'message.created' && seqs.push(event.seq)),
    end: (err) => {
      throw new Error(`stream ended: ${String(err)}`)
    },
  })
  const first = await commit(room._id, 'first')
  publish(first)
  await expect.poll(() => seqs).toEqual([first.seq])
  return { room, seqs, first, stream, close: () => (stream.close(), hub.close()) }
}

it('an event that overtakes the one before it on the bus is delivered after it, with no log read', async () => {
  const { room, seqs, first, close } = await watchedRoom(500)
  const a = await commit(room._id, 'a')
  const b = await commit(room._id, 'b')
  const before = finds

  publish(b)
  await new Promise((resolve) => setTimeout(resolve, 20))
  expect(seqs).toEqual([first.seq]) // b waits for a
  publish(a)

  await expect.poll(() => seqs).toEqual([first.seq, a.seq, b.seq])
  expect(finds - before).toBe(0)
  close()
})

it('when the missing event never comes over the bus, it is read from the log after the wait', async () => {
  const { room, seqs, first, close } = await watchedRoom(50)
  const lost = await commit(room._id, 'lost on the bus')
  const b = await commit(room._id, 'b')
  const before = finds

  publish(b)

  await expect.poll(() => seqs).toEqual([first.seq, lost.seq, b.seq])
  expect(finds - before).toBe(1)
  // The bus copy arriving late changes nothing.
  publish(lost)
  await new Promise((resolve) => setTimeout(resolve, 20))
  expect(seqs).toEqual([first.seq, lost.seq, b.seq])
  close()
})

it('a room whose last subscriber leaves while a gap waits stops waiting and reads nothing', async () => {
  const { room, stream, close } = await watchedRoom(300)
  await commit(room._id, 'never published')
  const b = await commit(room._id, 'b')
  const before = finds

  publish(b)
  await new Promise((resolve) => setTimeout(resolve, 20))
  stream.close() // the room's only subscriber: the node stops following it
  await new Promise((resolve) => setTimeout(resolve, 400))

  expect(finds - before).toBe(0)
  close()
})
