/**
 * A stream placed at the room's current position (no lastEventId, or a
 * reset) skips what came before it. When the user was removed between the
 * caller's membership check and that moment, the member.left that would have
 * ended the stream is among what it skipped: the hub must still end it. So
 * must a stream resumed (by a crafted client) at or past its member.left.
 * Real parts: MongoDB through the driver (MONGODB_URL, else the embedded
 * server), the in-process bus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TRPCError } from '@trpc/server'
import { createMemoryBus } from '@parley/bus'
import { ObjectId, type RoomDoc } from '@parley/db'
import { openTestDatabase, type TestDatabase } from '@parley/db/testing'
import type { PublicUser, RoomStreamEvent } from '@parley/schemas'
import { roomChannel, type RoomBusMessage } from '../src/access.ts'
import { createRoomHub, type RoomHub } from '../src/live/room-hub.ts'

let database: TestDatabase
const bus = createMemoryBus({ nodeId: 'n1' })
let hub: RoomHub
beforeAll(async () => {
  database = await openTestDatabase()
  hub = createRoomHub({ database, bus, resumeMaxEvents: 1000, replayBufferEvents: 256, gapWaitMs: 50 })
})
afterAll(async () => {
  hub.close()
  await database.drop()
})

const person = (name: string): PublicUser => ({ id: new ObjectId().toHexString(), username: name, displayName: name })

/** A room with an owner and a member who is in it (kick() removes them: the member.left is in the log). */
async function roomWithMember() {
  const owner = person('owner')
  const kicked = person('kicked')
  const room = await database.repos.rooms.create({ name: 'private', visibility: 'private', owner })
  await database.repos.rooms.addMember(room, owner, 'owner')
  await database.repos.rooms.addMember(room, kicked, 'member')
  /** Kicks the member; `publish` as the API does, or not (the bus lost it, or it is still on its way). Returns the member.left's seq. */
  const kick = async ({ publish }: { publish: boolean }) => {
    const left = await database.repos.rooms.removeMember(room._id, new ObjectId(kicked.id), 'kicked')
    if (publish) bus.publish(roomChannel(room._id.toHexString()), { event: left!.data, at: Date.now() } satisfies RoomBusMessage)
    return left!.seq
  }
  return { room, owner, kicked, kick }
}

/** A room with an owner and a member who has just been kicked (the member.left is in the log). */
async function roomWithKicked(): Promise<{ room: RoomDoc; owner: PublicUser; kicked: PublicUser; leftAt: number }> {
  const { kick, ...rest } = await roomWithMember()
  return { ...rest, leftAt: await kick({ publish: false }) }
}

function watch(room: RoomDoc, userId: string, lastEventId: number | null) {
  const events: RoomStreamEvent[] = []
  let ended: unknown = undefined
  const stream = hub.open(room, userId, lastEventId, { push: (e) => void events.push(e), end: (err) => void (ended = err ?? null) })
  return { events, stream, ended: () => ended }
}

/** A message the owner sends after everything else: persisted, then published as the API does. */
async function ownerSays(room: RoomDoc, owner: PublicUser, body: string): Promise<void> {
  const { event } = await database.repos.messages.send({ roomId: room._id, author: owner, clientId: body, body })
  bus.publish(roomChannel(room._id.toHexString()), { event: event!.data, at: Date.now() } satisfies RoomBusMessage)
}

describe('a stream opened just after its user was removed', () => {
  it('from now (no lastEventId): ends as NOT_FOUND and gets none of the room\'s later messages', async () => {
    const { room, owner, kicked } = await roomWithKicked()
    const gone = watch(room, kicked.id, null)
    const stays = watch(room, owner.id, null)
    await expect.poll(() => gone.ended()).toBeInstanceOf(TRPCError)
    expect((gone.ended() as TRPCError).code).toBe('NOT_FOUND')
    await ownerSays(room, owner, 'after the kick')
    await expect.poll(() => stays.events.map((e) => e.type)).toEqual(['message.created'])
    expect(gone.events).toEqual([])
    expect(stays.ended()).toBeUndefined()
    stays.stream.close()
  })

  it('from ahead of the log (a reset to now): ends as NOT_FOUND after the reset', async () => {
    const { room, owner, kicked } = await roomWithKicked()
    const gone = watch(room, kicked.id, 10_000)
    await expect.poll(() => gone.ended()).toBeInstanceOf(TRPCError)
    expect(gone.events.map((e) => e.type)).toEqual(['reset'])
    await ownerSays(room, owner, 'after the kick')
    await new Promise((r) => setTimeout(r, 100))
    expect(gone.events.map((e) => e.type)).toEqual(['reset'])
  })

  it('a member still in the room is not ended', async () => {
    const { room, owner } = await roomWithKicked()
    const member = person('member')
    await database.repos.rooms.addMember(room, member, 'member')
    const s = watch(room, member.id, 10_000)
    // Placed (the room is attached and listening) before the owner speaks.
    await expect.poll(() => s.events.map((e) => e.type)).toEqual(['reset'])
    await ownerSays(room, owner, 'hello')
    await expect.poll(() => s.events.map((e) => e.type)).toEqual(['reset', 'message.created'])
    expect(s.ended()).toBeUndefined()
    s.stream.close()
  })
})

/** The owner watches the room from now, and this node is attached to it (listening on the bus, its log read). */
async function watchAttached(room: RoomDoc, owner: PublicUser) {
  const watching = watch(room, owner.id, null)
  await expect.poll(() => hub.deliveredThrough(room._id.toHexString())).not.toBeNull()
  return watching
}

/** Ends as NOT_FOUND, and a later message in the room does not reach it. */
async function expectEnded(gone: ReturnType<typeof watch>, room: RoomDoc, owner: PublicUser): Promise<void> {
  await expect.poll(() => gone.ended()).toBeInstanceOf(TRPCError)
  expect((gone.ended() as TRPCError).code).toBe('NOT_FOUND')
  const before = gone.events.length
  await ownerSays(room, owner, 'after the kick')
  await new Promise((r) => setTimeout(r, 100))
  expect(gone.events.length).toBe(before)
}

// Only a crafted client resumes past its own member.left (an honest one's stream ended there); one whose
// membership was checked just before the kick could otherwise skip the event that ends its stream.
describe('a stream resumed at its own member.left (a crafted lastEventId), its user removed just after the check', () => {
  it('the member.left delivered on this node already: ends as NOT_FOUND', async () => {
    const { room, owner, kicked, kick } = await roomWithMember()
    const watching = await watchAttached(room, owner)
    const leftAt = await kick({ publish: true })
    await expect.poll(() => watching.events.map((e) => ('seq' in e ? e.seq : null))).toEqual([leftAt])
    await expectEnded(watch(room, kicked.id, leftAt), room, owner)
    watching.stream.close()
  })

  it('the member.left in the log, not yet heard on this node: ends as NOT_FOUND once it is', async () => {
    const { room, owner, kicked, kick } = await roomWithMember()
    const watching = await watchAttached(room, owner)
    const leftAt = await kick({ publish: false })
    await expectEnded(watch(room, kicked.id, leftAt), room, owner)
    watching.stream.close()
  })

  it('the room not watched on this node yet: ends as NOT_FOUND', async () => {
    const { room, owner, kicked, leftAt } = await roomWithKicked()
    await expectEnded(watch(room, kicked.id, leftAt), room, owner)
  })

  it('a member who left and came back, resuming after their return, is not ended', async () => {
    const { room, owner, kicked, leftAt } = await roomWithKicked()
    const back = await database.repos.rooms.addMember(room, kicked, 'member')
    expect(back!.seq).toBe(leftAt + 1)
    const s = watch(room, kicked.id, back!.seq)
    await ownerSays(room, owner, 'welcome back')
    await expect.poll(() => s.events.map((e) => e.type)).toEqual(['message.created'])
    expect(s.ended()).toBeUndefined()
    s.stream.close()
  })
})
