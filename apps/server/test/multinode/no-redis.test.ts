/**
 * Without REDIS_URL a node is a complete single-node Parley on the in-process
 * bus: nothing asks for Redis, /readyz doesn't mention it, and messages,
 * typing and presence work as before. (The other server tests cover the rest
 * of the single-node behaviour in-process.)
 */
import { describe, expect, it } from 'vitest'
import { send, seqsOf, watchRoom, watchUser } from '../helpers.ts'
import { readyz, useCluster, waitFor } from './support.ts'

const cluster = useCluster({ nodes: 1, redis: false, env: { LOG_LEVEL: 'info' } })
const { clients } = cluster

describe('no Redis', () => {
  it('a node without REDIS_URL runs on the in-process bus and /readyz has no redis entry', async () => {
    expect(cluster.redis).toBeUndefined()
    const lines = cluster.A
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string })
      .map((l) => l.msg)
    expect(lines).toContain('bus: in-process (single node)')
    expect(lines.some((m) => /redis/i.test(m))).toBe(false)
    const ready = await readyz(cluster.A)
    expect(ready.status).toBe(200)
    expect(ready.body.down).toEqual({})
    expect(JSON.stringify(ready.body)).not.toMatch(/redis/i)

    const alice = await clients.signUp(cluster.A)
    const bob = await clients.signUp(cluster.A)
    const room = await alice.trpc.rooms.create.mutate({ name: 'solo', visibility: 'public' })
    await bob.trpc.rooms.join.mutate({ roomId: room.id })
    const bobUser = watchUser(bob)
    const aliceUser = watchUser(alice)
    await Promise.all([bobUser.started, aliceUser.started])
    await waitFor('both online', async () => (await alice.trpc.rooms.members.query({ roomId: room.id })).every((m) => m.online))

    const bobRoom = watchRoom(bob, room.id)
    await bobRoom.started
    const hello = await send(alice, room.id, 'hello, one node')
    await alice.trpc.typing.start.mutate({ roomId: room.id })
    await bobRoom.until((e) => seqsOf(e).includes(hello.seq) && e.some((x) => x.type === 'typing'))
    expect(bobRoom.items.map((x) => x.type)).toEqual(['message.created', 'typing'])

    aliceUser.stop()
    await bobUser.until((e) => e.some((x) => x.type === 'presence' && x.userId === alice.user.id && x.status === 'offline'))
    for (const s of [bobUser, bobRoom]) {
      expect(s.errors).toEqual([])
      s.stop()
    }
  })
})
