/**
 * Only one node loses Redis (a network partition, its connections reset)
 * while the others keep theirs. The messages it accepts meanwhile are
 * persisted but never published; the other nodes' subscribers never
 * disconnected, so nothing on their side says "catch up". They must still get
 * those messages promptly once the cut-off node is back — not only at the
 * 30 s safety-net resync, and not only when a later message reveals the gap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { send, seqsOf, watchRoom, watchUser } from '../helpers.ts'
import { expectEverythingOnce, readyz, redisProxy, stream, useCluster, waitFor } from './support.ts'

// The safety-net resync (30 s by default) out of the way: no node resyncs unless something tells it to, so
// B's reader cannot get A's messages from the cut until A's return does it.
const cluster = useCluster({ nodes: 2, env: { BUS_RESYNC_INTERVAL_MS: '600000' } })
const { clients } = cluster
let proxy: Awaited<ReturnType<typeof redisProxy>>

beforeAll(async () => {
  // Node A reaches Redis through a proxy the test can cut.
  proxy = await redisProxy(cluster.redis!.port)
  await cluster.A.kill('SIGTERM')
  await cluster.A.start({ REDIS_URL: proxy.url })
})
afterAll(async () => {
  await proxy?.close()
})

describe('one node cut off from Redis', () => {
  it('what it accepted while cut off reaches the other node’s readers within seconds of its return', async () => {
    const sender = await clients.signUp(cluster.A)
    const readers = [await clients.signUp(cluster.A), await clients.signUp(cluster.B)]
    const room = await sender.trpc.rooms.create.mutate({ name: 'partition', visibility: 'public' })
    for (const r of readers) await r.trpc.rooms.join.mutate({ roomId: room.id })
    const subs = readers.map((r) => watchRoom(r, room.id))
    await Promise.all(subs.map((s) => s.started))

    const before = await stream((i) => send(sender, room.id, `before ${i}`), { min: 20 }).done
    await expectEverythingOnce(subs, before)

    proxy.cut()
    await waitFor('node A /readyz 503', async () => (await readyz(cluster.A)).status === 503)
    expect((await readyz(cluster.B)).status).toBe(200)
    // Accepted and persisted by A; A's own reader gets them; B's cannot yet.
    const during = await stream((i) => send(sender, room.id, `during ${i}`), { min: 30 }).done
    // Had B's reader got any of them, the catch-up below would prove nothing.
    expect(seqsOf(subs[1]!.items).filter((seq) => seq >= during[0]!.seq)).toEqual([])

    proxy.restore()
    await waitFor('node A /readyz 200', async () => (await readyz(cluster.A)).status === 200, 15_000)
    // Nothing else is sent: only a catch-up triggered by A's return can deliver these.
    await expectEverythingOnce(subs, [...before, ...during], 5_000)

    const after = await stream((i) => send(sender, room.id, `after ${i}`), { min: 20 }).done
    await expectEverythingOnce(subs, [...before, ...during, ...after])
    for (const s of subs) s.stop()
  }, 60_000)

  it('a member removed while it was cut off is told so on the other node, and hears no more of the room there', async () => {
    const owner = await clients.signUp(cluster.A)
    const member = await clients.signUp(cluster.B)
    const room = await owner.trpc.rooms.create.mutate({ name: 'partition kick', visibility: 'private' })
    const other = await owner.trpc.rooms.create.mutate({ name: 'partition other', visibility: 'public' })
    await owner.trpc.rooms.invite.mutate({ roomId: room.id, username: member.user.username })
    await member.trpc.rooms.join.mutate({ roomId: other.id })
    const events = watchUser(member)
    await events.started
    // The stream starts before it follows the member's rooms: send until one of the room's messages shows up.
    const heard = (seq: number) =>
      events.until((e) => e.some((x) => x.type === 'room.activity' && x.roomId === room.id && x.seq === seq), 300).then(
        () => true,
        () => false,
      )
    let first = await send(owner, room.id, 'while a member')
    for (let i = 0; i < 50 && !(await heard(first.seq)); i++) first = await send(owner, room.id, `while a member ${i}`)
    expect(await heard(first.seq)).toBe(true)

    proxy.cut()
    await waitFor('node A /readyz 503', async () => (await readyz(cluster.A)).status === 503)
    // Written by A, which cannot publish it: the member's node hears neither room.removed nor member.left.
    await owner.trpc.rooms.kick.mutate({ roomId: room.id, userId: member.user.id })
    proxy.restore()
    await waitFor('node A /readyz 200', async () => (await readyz(cluster.A)).status === 200, 15_000)

    await events.until((e) => e.some((x) => x.type === 'room.removed' && x.roomId === room.id), 10_000)
    // The reason comes from the room's log: the app says "you were removed", not that they left.
    expect(events.items.find((x) => x.type === 'room.removed' && x.roomId === room.id)).toMatchObject({ reason: 'kicked' })
    await send(owner, room.id, 'after the kick')
    const marker = await send(owner, other.id, 'marker')
    await events.until((e) => e.some((x) => x.type === 'room.activity' && x.seq === marker.seq && x.roomId === other.id))
    const leaked = events.items.filter((x) => x.type === 'room.activity' && x.roomId === room.id && x.seq > first.seq)
    expect(leaked).toEqual([])
    events.stop()
  }, 60_000)
})
