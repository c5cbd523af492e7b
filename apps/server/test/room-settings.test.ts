/**
 * rooms.update: an owner or admin renames a room or changes its topic, and
 * every member sees it — in the room (events.room, resumable), in their room
 * list (events.user, rooms.list) and in the directory (rooms.browse). Anyone
 * else, and any bad input, changes nothing.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TRPCClientError } from '@trpc/client'
import { LIMITS, type RoomStreamEvent, type UserEvent } from '@parley/schemas'
import type { Collected } from '@parley/testing'
import { startTestServer, type ApiClient, type TestServer } from './factory.ts'
import { range, send, seqsOf, twoInARoom, watchRoom, watchUser } from './helpers.ts'
import { useCluster } from './multinode/support.ts'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server?.stop())

const code = (err: unknown) => (err instanceof TRPCClientError ? err.data?.code : String(err))
const unique = (prefix: string) => `${prefix} ${randomBytes(4).toString('hex')}`
const updates = (items: RoomStreamEvent[]) => items.filter((e) => e.type === 'room.updated')

/**
 * `started` comes before the user's rooms are followed: `writer` sends in the
 * room until `watcher` hears one, then `reader` (the watcher's user) reads it
 * all, so their count is back to 0. Returns the seq read up to.
 */
async function untilFollowing(
  watcher: Collected<UserEvent>,
  reader: ApiClient,
  writer: ApiClient,
  roomId: string,
): Promise<number> {
  for (let n = 1; n <= 50; n++) {
    const m = await send(writer, roomId, `warm-up ${n}`)
    const heard = await watcher
      .until(
        (e) => e.some((x) => x.type === 'room.activity' && x.roomId === roomId && x.seq === m.seq),
        300,
      )
      .then(
        () => true,
        () => false,
      )
    if (!heard) continue
    await reader.trpc.rooms.markRead.mutate({ roomId, seq: m.seq })
    await watcher.until((e) =>
      e.some(
        (x) =>
          x.type === 'room.activity' && x.roomId === roomId && x.seq === m.seq && x.unread === 0,
      ),
    )
    return m.seq
  }
  throw new Error('the user stream never followed the room')
}

/** The room's messages and events after `seq` are quiet: `writer` sends one more, and `watcher` must get it next. */
async function nothingAfter(
  watcher: Collected<RoomStreamEvent>,
  writer: ApiClient,
  roomId: string,
  seq: number,
) {
  const sentinel = await send(writer, roomId, 'sentinel')
  expect(sentinel.seq).toBe(seq + 1)
  await watcher.until((e) => seqsOf(e).includes(sentinel.seq))
  expect(watcher.items.map((e) => e.type)).toEqual(['message.created'])
}

describe('rooms.update', () => {
  it('the owner renames a room and sets its topic: the room, the lists, the directory and both streams show it; an empty topic clears it', async () => {
    const oldName = unique('before')
    const newName = unique('after')
    const { alice, bob, roomId } = await twoInARoom(server, oldName)
    const carol = await server.signUp()
    await carol.trpc.rooms.join.mutate({ roomId })
    const inRoom = watchRoom(bob, roomId)
    const carolsList = watchUser(carol)
    await Promise.all([inRoom.started, carolsList.started])
    await untilFollowing(carolsList, carol, alice, roomId)

    const updated = await alice.trpc.rooms.update.mutate({
      roomId,
      name: `  ${newName}  `,
      topic: 'all things after',
    })
    expect(updated).toMatchObject({
      id: roomId,
      name: newName,
      topic: 'all things after',
      visibility: 'public',
      ownerId: alice.user.id,
      memberCount: 3,
    })

    const [event] = updates(await inRoom.until((e) => updates(e).length > 0))
    expect(event).toEqual({
      type: 'room.updated',
      roomId,
      seq: updated.seq,
      name: newName,
      topic: 'all things after',
      by: alice.user,
    })
    await carolsList.until((e) => e.some((x) => x.type === 'room.updated'))
    expect(carolsList.items.filter((x) => x.type === 'room.updated')).toEqual([
      {
        type: 'room.updated',
        roomId,
        seq: updated.seq,
        name: newName,
        topic: 'all things after',
        by: alice.user,
      },
    ])

    expect(await bob.trpc.rooms.get.query({ roomId })).toEqual(updated)
    expect((await carol.trpc.rooms.list.query()).find((r) => r.id === roomId)).toMatchObject({
      name: newName,
      topic: 'all things after',
    })
    const outsider = await server.signUp()
    expect(
      (await outsider.trpc.rooms.browse.query({ query: newName })).rooms.map((r) => [
        r.id,
        r.name,
        r.topic,
      ]),
    ).toEqual([[roomId, newName, 'all things after']])
    expect((await outsider.trpc.rooms.browse.query({ query: oldName })).rooms).toEqual([])

    // A field left out stays as it is; '' (or null) clears the topic.
    const renamed = await alice.trpc.rooms.update.mutate({ roomId, name: `${newName} 2` })
    expect([renamed.name, renamed.topic]).toEqual([`${newName} 2`, 'all things after'])
    const cleared = await alice.trpc.rooms.update.mutate({ roomId, topic: '' })
    expect([cleared.name, cleared.topic]).toEqual([`${newName} 2`, null])
    await inRoom.until((e) => updates(e).length === 3)
    expect(updates(inRoom.items).map((e) => [e.name, e.topic])).toEqual([
      [newName, 'all things after'],
      [`${newName} 2`, 'all things after'],
      [`${newName} 2`, null],
    ])
    await carolsList.until((e) => e.filter((x) => x.type === 'room.updated').length === 3)
    expect(carolsList.items.filter((x) => x.type === 'room.updated').at(-1)).toEqual({
      type: 'room.updated',
      roomId,
      seq: cleared.seq,
      name: `${newName} 2`,
      topic: null,
      by: alice.user,
    })
    expect((await carol.trpc.rooms.get.query({ roomId })).topic).toBeNull()

    await alice.trpc.rooms.update.mutate({ roomId, topic: 'back again' })
    expect((await alice.trpc.rooms.update.mutate({ roomId, topic: null })).topic).toBeNull()
    // At the limits exactly.
    const longest = await alice.trpc.rooms.update.mutate({
      roomId,
      name: 'n'.repeat(LIMITS.roomNameMax),
      topic: 't'.repeat(LIMITS.roomTopicMax),
    })
    expect([longest.name.length, longest.topic?.length]).toEqual([
      LIMITS.roomNameMax,
      LIMITS.roomTopicMax,
    ])
    inRoom.stop()
    carolsList.stop()
  })

  it('an admin may; a plain member, a non-member and a direct room are refused, as is bad input, and none of them changes anything', async () => {
    const name = unique('guarded')
    const { alice, bob, roomId } = await twoInARoom(server, name)
    const admin = await server.signUp()
    await admin.trpc.rooms.join.mutate({ roomId })
    await alice.trpc.rooms.setRole.mutate({ roomId, userId: admin.user.id, role: 'admin' })
    const byAdmin = await admin.trpc.rooms.update.mutate({ roomId, topic: 'set by the admin' })
    expect(byAdmin.topic).toBe('set by the admin')

    const before = await alice.trpc.rooms.get.query({ roomId })
    const watcher = watchRoom(alice, roomId)
    await watcher.started

    const byMember = await bob.trpc.rooms.update
      .mutate({ roomId, name: 'taken over' })
      .catch((e: unknown) => e)
    expect([code(byMember), (byMember as Error).message]).toEqual([
      'FORBIDDEN',
      "Only the owner or an admin can change the room's name or topic",
    ])
    const stranger = await server.signUp()
    const notJoined = await stranger.trpc.rooms.update
      .mutate({ roomId, name: 'taken over' })
      .catch((e: unknown) => e)
    expect([code(notJoined), (notJoined as Error).message]).toEqual([
      'FORBIDDEN',
      'Join the room first',
    ])

    const bad: [string, unknown][] = [
      ['blank name', { roomId, name: '   ' }],
      ['empty name', { roomId, name: '' }],
      ['name too long', { roomId, name: 'n'.repeat(LIMITS.roomNameMax + 1) }],
      ['topic too long', { roomId, topic: 't'.repeat(LIMITS.roomTopicMax + 1) }],
      ['neither field', { roomId }],
      ['unknown field', { roomId, name: 'public no more', visibility: 'private' }],
      ['name not a string', { roomId, name: { $ne: null } }],
      ['bad room id', { roomId: 'not-an-id', name: 'x' }],
    ]
    for (const [what, input] of bad) {
      const err = await alice.trpc.rooms.update.mutate(input as never).catch((e: unknown) => e)
      expect(code(err), what).toBe('BAD_REQUEST')
    }

    expect(await alice.trpc.rooms.get.query({ roomId })).toEqual(before)
    await nothingAfter(watcher, alice, roomId, before.seq)
    watcher.stop()
  })

  it('a private room is NOT_FOUND to a non-member, and a direct room has no name or topic to change', async () => {
    const owner = await server.signUp()
    const outsider = await server.signUp()
    const secret = await owner.trpc.rooms.create.mutate({
      name: unique('secret'),
      topic: 'hush',
      visibility: 'private',
    })
    const hidden = await outsider.trpc.rooms.update
      .mutate({ roomId: secret.id, name: 'found you' })
      .catch((e: unknown) => e)
    expect(code(hidden)).toBe('NOT_FOUND')
    expect(await owner.trpc.rooms.get.query({ roomId: secret.id })).toMatchObject({
      name: secret.name,
      topic: 'hush',
      seq: secret.seq,
    })

    const direct = await owner.trpc.rooms.direct.mutate({ username: outsider.user.username })
    for (const who of [owner, outsider]) {
      const refused = await who.trpc.rooms.update
        .mutate({ roomId: direct.id, name: 'our chat' })
        .catch((e: unknown) => e)
      expect([code(refused), (refused as Error).message]).toEqual([
        'BAD_REQUEST',
        'Direct conversations have no name or topic to change',
      ])
    }
    expect(await owner.trpc.rooms.get.query({ roomId: direct.id })).toMatchObject({
      name: direct.name,
      topic: null,
      seq: direct.seq,
    })
  })

  it('a change that changes nothing writes no event', async () => {
    const name = unique('steady')
    const { alice, roomId } = await twoInARoom(server, name)
    await alice.trpc.rooms.update.mutate({ roomId, topic: 'the same' })
    const before = await alice.trpc.rooms.get.query({ roomId })
    const watcher = watchRoom(alice, roomId)
    await watcher.started
    for (const change of [
      { name },
      { topic: 'the same' },
      { name, topic: 'the same' },
      { name: `  ${name} ` },
    ]) {
      expect(await alice.trpc.rooms.update.mutate({ roomId, ...change })).toEqual(before)
    }
    await nothingAfter(watcher, alice, roomId, before.seq)

    // Clearing the topic is a change; clearing it again (null, as '' did) is nothing.
    const cleared = await alice.trpc.rooms.update.mutate({ roomId, topic: '' })
    expect(cleared.seq).toBe(before.seq + 2) // the sentinel, then the clearing
    const again = await alice.trpc.rooms.update.mutate({ roomId, topic: null })
    expect(again).toEqual(cleared)
    const last = await send(alice, roomId, 'after the clearing')
    expect(last.seq).toBe(cleared.seq + 1)
    await watcher.until((e) => seqsOf(e).includes(last.seq))
    expect(updates(watcher.items)).toEqual([
      { type: 'room.updated', roomId, seq: cleared.seq, name, topic: null, by: alice.user },
    ])
    watcher.stop()
  })

  it('is replayed in seq order to a client resuming from an older event', async () => {
    const { alice, bob, roomId } = await twoInARoom(server, unique('resumed'))
    const first = watchRoom(bob, roomId)
    await first.started
    const seen = await send(alice, roomId, 'before the tunnel')
    await first.until((e) => seqsOf(e).includes(seen.seq))
    const lastSeen = first.lastId!
    first.stop()

    const m1 = await send(alice, roomId, 'while away 1')
    const renamed = await alice.trpc.rooms.update.mutate({ roomId, name: 'renamed while away' })
    const m2 = await send(alice, roomId, 'while away 2')
    const topic = await alice.trpc.rooms.update.mutate({ roomId, topic: 'topic while away' })
    expect([m1.seq, renamed.seq, m2.seq, topic.seq]).toEqual(range(seen.seq + 1, seen.seq + 4))

    const resumed = watchRoom(bob, roomId, lastSeen)
    await resumed.until((e) => seqsOf(e).includes(topic.seq))
    expect(seqsOf(resumed.items)).toEqual(range(Number(lastSeen) + 1, topic.seq))
    expect(resumed.items.map((e) => e.type)).toEqual([
      'message.created',
      'room.updated',
      'message.created',
      'room.updated',
    ])
    expect(updates(resumed.items)).toEqual([
      {
        type: 'room.updated',
        roomId,
        seq: renamed.seq,
        name: 'renamed while away',
        topic: null,
        by: alice.user,
      },
      {
        type: 'room.updated',
        roomId,
        seq: topic.seq,
        name: 'renamed while away',
        topic: 'topic while away',
        by: alice.user,
      },
    ])
    resumed.stop()
  })

  it('raises nobody’s unread count', async () => {
    const { alice, bob, roomId } = await twoInARoom(server, unique('quiet'))
    const bobsList = watchUser(bob)
    await bobsList.started
    await untilFollowing(bobsList, bob, alice, roomId)
    const listed = () =>
      bob.trpc.rooms.list.query().then((rooms) => rooms.find((r) => r.id === roomId)!)
    expect((await listed()).unread).toBe(0)
    const from = bobsList.items.length

    const renamed = await alice.trpc.rooms.update.mutate({
      roomId,
      name: 'quietly renamed',
      topic: 'shh',
    })
    await bobsList.until((e) => e.some((x) => x.type === 'room.updated' && x.seq === renamed.seq))
    expect(await listed()).toMatchObject({ name: 'quietly renamed', topic: 'shh', unread: 0 })

    // The next message counts one, not two, live and in the list.
    const after = await send(alice, roomId, 'a real message')
    await bobsList.until((e) => e.some((x) => x.type === 'room.activity' && x.seq === after.seq))
    expect(
      bobsList.items
        .slice(from)
        .map((x) => (x.type === 'room.activity' ? [x.type, x.seq, x.unread] : [x.type])),
    ).toEqual([['room.updated'], ['room.activity', after.seq, 1]])
    expect((await listed()).unread).toBe(1)
    bobsList.stop()
  })
})

describe('rooms.update across two nodes', () => {
  const cluster = useCluster({ nodes: 2 })
  const { clients } = cluster

  it('changes made at once through both nodes end where the log ends: the room as stored is the last room.updated, for every field', async () => {
    const alice = await clients.signUp(cluster.A)
    const bob = await clients.signUp(cluster.B)
    const room = await alice.trpc.rooms.create.mutate({ name: unique('racing'), visibility: 'public' })
    await bob.trpc.rooms.join.mutate({ roomId: room.id })
    await alice.trpc.rooms.setRole.mutate({ roomId: room.id, userId: bob.user.id, role: 'admin' })
    // A member with the room open on A all along, as replays from the log on B see it too.
    const carol = await clients.signUp(cluster.A)
    await carol.trpc.rooms.join.mutate({ roomId: room.id })
    const live = watchRoom(carol, room.id)
    await live.started
    for (let round = 0; round < 4; round++) {
      // Two admins on two nodes, renaming and re-topicking at once.
      await Promise.all(
        range(1, 6).flatMap((i) => [
          (i % 2 ? alice : bob).trpc.rooms.update.mutate({ roomId: room.id, name: `name ${round}.${i}` }),
          (i % 2 ? bob : alice).trpc.rooms.update.mutate({ roomId: room.id, topic: `topic ${round}.${i}` }),
        ]),
      )
      const stored = await alice.trpc.rooms.get.query({ roomId: room.id })
      const replay = watchRoom(bob, room.id, '0')
      await replay.until((e) => seqsOf(e).includes(stored.seq))
      const last = updates(replay.items).at(-1)
      replay.stop()
      expect(last && { name: last.name, topic: last.topic }, `round ${round}`).toEqual({ name: stored.name, topic: stored.topic })
      await live.until((e) => seqsOf(e).includes(stored.seq))
      const seen = updates(live.items).at(-1)
      expect(seen && { name: seen.name, topic: seen.topic }, `round ${round}, live`).toEqual({ name: stored.name, topic: stored.topic })
    }
    expect(live.errors).toEqual([])
    live.stop()
  })

  it('a member on node B sees the change made on node A, in the room and in their room list', async () => {
    const alice = await clients.signUp(cluster.A)
    const bob = await clients.signUp(cluster.B)
    const room = await alice.trpc.rooms.create.mutate({
      name: unique('two nodes'),
      visibility: 'public',
    })
    await bob.trpc.rooms.join.mutate({ roomId: room.id })
    const inRoom = watchRoom(bob, room.id)
    const bobsList = watchUser(bob)
    await Promise.all([inRoom.started, bobsList.started])
    await untilFollowing(bobsList, bob, alice, room.id)

    const updated = await alice.trpc.rooms.update.mutate({
      roomId: room.id,
      name: 'renamed on A',
      topic: 'from node A',
    })
    await inRoom.until((e) => updates(e).length > 0)
    expect(updates(inRoom.items)).toEqual([
      {
        type: 'room.updated',
        roomId: room.id,
        seq: updated.seq,
        name: 'renamed on A',
        topic: 'from node A',
        by: alice.user,
      },
    ])
    await bobsList.until((e) => e.some((x) => x.type === 'room.updated'))
    expect(bobsList.items.filter((x) => x.type === 'room.updated')).toEqual([
      {
        type: 'room.updated',
        roomId: room.id,
        seq: updated.seq,
        name: 'renamed on A',
        topic: 'from node A',
        by: alice.user,
      },
    ])
    expect((await bob.trpc.rooms.list.query()).find((r) => r.id === room.id)).toMatchObject({
      name: 'renamed on A',
      topic: 'from node A',
      unread: 0,
    })
    inRoom.stop()
    bobsList.stop()
  })
})
