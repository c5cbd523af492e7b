/**
 * Two Parley processes sharing one MongoDB and one Redis: people on different
 * nodes are in the same conversation (messages, typing, presence), a
 * retried send racing itself across nodes is still one message, and a room
 * list shows the newest message wherever it was sent.
 */
import { randomUUID } from 'node:crypto'
import { createTRPCClient, TRPCClientError, wsLink } from '@trpc/client'
import type { AppRouter } from '@parley/api'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { connectDatabase, ObjectId } from '@parley/db'
import { range, scrapeMetric, send, seqsOf, watchRoom, watchUser } from '../helpers.ts'
import type { ApiClient } from '../factory.ts'
import { useCluster, waitFor } from './support.ts'

const cluster = useCluster({ nodes: 2 })
const { clients } = cluster

async function onlineOf(client: ApiClient, roomId: string): Promise<Record<string, boolean>> {
  const members = await client.trpc.rooms.members.query({ roomId })
  return Object.fromEntries(members.map((m) => [m.user.id, m.online]))
}

describe('many nodes as one', () => {
  it('a subscriber on node B sees what a user on node A sends and types; presence spans both nodes', async () => {
    const alice = await clients.signUp(cluster.A)
    const bob = await clients.signUp(cluster.B)
    const room = await alice.trpc.rooms.create.mutate({ name: 'across', visibility: 'public' })
    await bob.trpc.rooms.join.mutate({ roomId: room.id })

    // Bob is online on B (his user stream); Alice has no stream yet.
    const bobUser = watchUser(bob)
    await bobUser.started
    await waitFor('bob online, seen from node A', async () => {
      const online = await onlineOf(alice, room.id)
      return online[bob.user.id] === true && online[alice.user.id] === false
    })

    // Alice comes online on A: Bob's stream on B hears it, both nodes list both.
    const aliceUser = watchUser(alice)
    await aliceUser.started
    await bobUser.until((e) => e.some((x) => x.type === 'presence' && x.userId === alice.user.id && x.status === 'online'))
    for (const viewer of [alice, bob]) expect(await onlineOf(viewer, room.id)).toEqual({ [alice.user.id]: true, [bob.user.id]: true })
    // …and Alice's stream on A heard nothing about herself.
    expect(aliceUser.items.some((x) => x.type === 'presence' && x.userId === alice.user.id)).toBe(false)

    const bobRoom = watchRoom(bob, room.id)
    await bobRoom.started
    const hello = await send(alice, room.id, 'hello from node A')
    await bobRoom.until((e) => seqsOf(e).includes(hello.seq))
    expect(bobRoom.items.find((x) => x.type === 'message.created')).toMatchObject({
      message: { id: hello.id, body: 'hello from node A', author: { id: alice.user.id } },
    })
    // Bob's user stream on B counts it as unread activity.
    await bobUser.until((e) => e.some((x) => x.type === 'room.activity' && x.roomId === room.id && x.seq === hello.seq && x.unread === 1))

    await alice.trpc.typing.start.mutate({ roomId: room.id })
    await bobRoom.until((e) => e.some((x) => x.type === 'typing'))
    expect(bobRoom.items.filter((x) => x.type === 'typing')).toEqual([{ type: 'typing', roomId: room.id, user: expect.objectContaining({ id: alice.user.id }), expiresInMs: 5000 }])

    // And back: Bob on B answers, Alice's room stream on A gets it.
    const aliceRoom = watchRoom(alice, room.id, String(hello.seq))
    await aliceRoom.started
    const reply = await send(bob, room.id, 'hi from node B')
    await aliceRoom.until((e) => seqsOf(e).includes(reply.seq))
    expect(seqsOf(aliceRoom.items)).toEqual([reply.seq])

    // Alice leaves (her last stream closes): Bob on B sees her go offline.
    aliceUser.stop()
    await bobUser.until((e) => e.some((x) => x.type === 'presence' && x.userId === alice.user.id && x.status === 'offline'))
    expect(await onlineOf(bob, room.id)).toEqual({ [alice.user.id]: false, [bob.user.id]: true })
    for (const s of [bobUser, bobRoom, aliceRoom]) {
      expect(s.errors).toEqual([])
      s.stop()
    }
  })

  it('the same clientId sent 50 times at once, half through each node, is one message', async () => {
    const alice = await clients.signUp(cluster.A)
    const aliceOnB = clients.on(cluster.B, alice.jar)
    const watcherA = await clients.signUp(cluster.A)
    const room = await alice.trpc.rooms.create.mutate({ name: 'dupes', visibility: 'public' })
    await watcherA.trpc.rooms.join.mutate({ roomId: room.id })
    const seen = watchRoom(watcherA, room.id)
    const seenOnB = watchRoom(aliceOnB, room.id)
    await Promise.all([seen.started, seenOnB.started])

    const clientId = randomUUID()
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => send(i % 2 === 0 ? alice : aliceOnB, room.id, 'only once', clientId)),
    )
    const ids = new Set(results.map((m) => m.id))
    expect(ids.size).toBe(1)
    const [message] = results
    expect(results.every((m) => m.seq === message!.seq && m.clientId === clientId)).toBe(true)

    // A later message proves the streams are past any stray duplicate.
    const after = await send(alice, room.id, 'after')
    for (const s of [seen, seenOnB]) {
      await s.until((e) => seqsOf(e).includes(after.seq))
      const created = s.items.filter((x) => x.type === 'message.created')
      expect(created.map((x) => x.type === 'message.created' && x.message.id)).toEqual([message!.id, after.id])
      expect(seqsOf(s.items)).toEqual([message!.seq, after.seq])
      s.stop()
    }
    for (const c of [alice, aliceOnB]) {
      const history = await c.trpc.messages.list.query({ roomId: room.id })
      expect(history.messages.map((m) => [m.id, m.body])).toEqual([
        [message!.id, 'only once'],
        [after.id, 'after'],
      ])
    }
  })

  it('a member kicked through node A can no longer post through node B, where the membership was cached', async () => {
    const owner = await clients.signUp(cluster.A)
    const mallory = await clients.signUp(cluster.B)
    const room = await owner.trpc.rooms.create.mutate({ name: 'closed door', visibility: 'private' })
    await owner.trpc.rooms.invite.mutate({ roomId: room.id, username: mallory.user.username })
    // Node B now trusts Mallory's membership for MEMBERSHIP_CACHE_MS (30 s).
    await send(mallory, room.id, 'hello')
    await mallory.trpc.typing.start.mutate({ roomId: room.id })

    await owner.trpc.rooms.kick.mutate({ roomId: room.id, userId: mallory.user.id })
    const refused = (e: unknown) => e instanceof TRPCClientError && e.data?.code === 'NOT_FOUND'
    // The kick reaches node B over the bus in moments, not when the cached entry expires.
    await waitFor('node B to refuse the kicked member', () =>
      mallory.trpc.typing.start.mutate({ roomId: room.id }).then(() => false, refused),
      3000,
    )
    expect(refused(await send(mallory, room.id, 'still here?').catch((e: unknown) => e))).toBe(true)
    expect((await owner.trpc.messages.list.query({ roomId: room.id })).messages.map((m) => m.body)).toEqual(['hello'])
  })
  it('a name changed through node A is the author of what the user sends next over a socket already open on node B, and a member on B hears it', async () => {
    const ada = await clients.signUp(cluster.A)
    const adaOnB = clients.on(cluster.B, ada.jar)
    const overSocket = createTRPCClient<AppRouter>({ links: [wsLink({ client: adaOnB.ws })] })
    const room = await ada.trpc.rooms.create.mutate({ name: 'names', visibility: 'private' })
    const bob = await clients.signUp(cluster.B)
    await ada.trpc.rooms.invite.mutate({ roomId: room.id, username: bob.user.username })
    const bobOnB = watchUser(bob)
    // The socket to B opens (and its context reads Ada's user) before the change, and stays open.
    const onB = watchUser(adaOnB)
    await Promise.all([onB.started, bobOnB.started])
    expect((await overSocket.messages.send.mutate({ roomId: room.id, clientId: randomUUID(), body: 'before' })).author.displayName).toBe(ada.user.username)

    await ada.trpc.auth.updateProfile.mutate({ displayName: 'Ada on both nodes' })
    await waitFor('node B to send with the new name', async () => {
      const sent = await overSocket.messages.send.mutate({ roomId: room.id, clientId: randomUUID(), body: 'after' })
      return sent.author.displayName === 'Ada on both nodes'
    }, 3000)
    // Her stream on B heard it too, and the socket is the one from before.
    await onB.until((e) => e.some((x) => x.type === 'profile.updated' && x.user.displayName === 'Ada on both nodes'))
    // Bob, who shares a room with her, hears it on B (his member list and their direct room follow it).
    await bobOnB.until((e) => e.some((x) => x.type === 'profile.updated' && x.user.id === ada.user.id && x.user.displayName === 'Ada on both nodes'))
    for (const s of [onB, bobOnB]) {
      expect(s.errors).toEqual([])
      s.stop()
    }
  })

  it("a room list on node B shows each room's newest message, also where B knows it from the bus and not from a read", async () => {
    const alice = await clients.signUp(cluster.A)
    const bob = await clients.signUp(cluster.B)
    const room = await alice.trpc.rooms.create.mutate({ name: 'previews', visibility: 'public' })
    await bob.trpc.rooms.join.mutate({ roomId: room.id })
    const preview = async () => (await bob.trpc.rooms.list.query()).find((r) => r.id === room.id)?.lastMessage?.body
    // A message persisted and never published: what a publish lost on the bus leaves behind.
    const database = await connectDatabase({ url: cluster.mongoUrl })
    const unpublished = async (body: string) => {
      const author = { id: alice.user.id, username: alice.user.username, displayName: alice.user.displayName }
      await database.repos.messages.send({ roomId: new ObjectId(room.id), author, clientId: randomUUID(), body })
    }
    try {
      // Bob's user stream on B: B follows the room and hears what Alice sends on A.
      const bobUser = watchUser(bob)
      await bobUser.started
      const one = await send(alice, room.id, 'one')
      await bobUser.until((e) => e.some((x) => x.type === 'room.activity' && x.seq === one.seq))
      expect(await preview()).toBe('one')
      // Its current state: an edit shows.
      await alice.trpc.messages.edit.mutate({ messageId: one.id, body: 'one, edited' })
      expect(await preview()).toBe('one, edited')

      // In ten rooms, each with news: B lists them all in fewer MongoDB round trips than there are rooms.
      let last = one
      for (let i = 2; i <= 10; i++) {
        const more = await alice.trpc.rooms.create.mutate({ name: `previews ${i}`, visibility: 'public' })
        await bob.trpc.rooms.join.mutate({ roomId: more.id })
        last = await send(alice, more.id, `news ${i}`)
      }
      await bobUser.until((e) => e.some((x) => x.type === 'room.activity' && x.seq === last.seq && x.unread === 1))
      const roundTrips = () => scrapeMetric(cluster.B.url, 'parley_mongodb_operation_seconds_count')
      const before = await roundTrips()
      const listed = await bob.trpc.rooms.list.query()
      const used = (await roundTrips()) - before
      expect(listed.map((r) => r.lastMessage?.body).sort()).toEqual(['news 10', ...range(2, 9).map((i) => `news ${i}`), 'one, edited'])
      expect(used).toBeLessThan(10)

      // A node that dropped publishes says so on the bus: B reads the room's newest message again.
      await unpublished('two')
      const redis = new Redis(cluster.redis!.url)
      await redis.publish('bus:resync', 'node-that-dropped').finally(() => redis.quit())
      await waitFor('the list after the resync', async () => ((await preview()) === 'two' ? true : undefined))
      const three = await send(alice, room.id, 'three')
      await bobUser.until((e) => e.some((x) => x.type === 'room.activity' && x.seq === three.seq))
      expect(await preview()).toBe('three')

      // Bob's stream closes: B no longer follows the room, so its list reads the room again.
      bobUser.stop()
      await waitFor('Bob offline (his last stream closed)', async () => ((await onlineOf(alice, room.id))[bob.user.id] === false ? true : undefined))
      await unpublished('four')
      expect(await preview()).toBe('four')
      expect(bobUser.errors).toEqual([])
    } finally {
      await database.close()
    }
  })
})
