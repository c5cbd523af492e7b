/**
 * Redis failing under a live stream: the server stays up, sends keep being
 * persisted, /readyz says Redis is down and recovers, and every subscriber on
 * every node ends with every acknowledged message exactly once — catching up
 * from MongoDB once the subscriber connection is back and confirmed.
 */
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { send, watchRoom } from '../helpers.ts'
import { countConnects, expectEverythingOnce, readyz, stream, useCluster, waitFor } from './support.ts'

const cluster = useCluster({ nodes: 2 })
const { clients } = cluster

/** A room with a sender on A and one reader per node, each following the room from its current position. */
async function setUp(name: string) {
  const sender = await clients.signUp(cluster.A)
  const readers = [await clients.signUp(cluster.A), await clients.signUp(cluster.B)]
  const room = await sender.trpc.rooms.create.mutate({ name, visibility: 'public' })
  for (const r of readers) await r.trpc.rooms.join.mutate({ roomId: room.id })
  // From the room's current position: only the sender writes from here on.
  const subs = readers.map((r) => watchRoom(r, room.id))
  await Promise.all(subs.map((s) => s.started))
  return { sender, readers, room, subs }
}

describe('Redis outage', () => {
  // The stream stops while Redis is still down, so what was sent during the
  // outage can only reach the reader on node B through the resync that
  // follows the confirmed resubscription (no later live message would reveal
  // the gap). Then the stream goes on live.
  it('redis-server killed and restarted during a stream: /readyz goes 503 (redis) and back, nobody misses a message', async () => {
    const redis = cluster.redis!
    const { sender, room, subs } = await setUp('outage')
    let enough!: () => void
    const outageSends = new Promise<void>((r) => (enough = r))
    const s = stream((i) => send(sender, room.id, `m${i}`), { min: 50, until: outageSends })

    await waitFor('the stream to be under way', () => s.reached(50), 20_000)
    await redis.kill()
    const ackedAtKill = s.acked.length

    // Both nodes notice and name Redis; sends keep being acknowledged meanwhile.
    for (const node of [cluster.A, cluster.B]) {
      const down = await waitFor(`${node.id} /readyz 503`, async () => {
        const r = await readyz(node)
        return r.status === 503 ? r.body : undefined
      })
      expect(Object.keys(down.down)).toEqual(['redis'])
      expect(down.down.redis).toMatch(/redis/)
    }
    const before = s.acked.length
    await waitFor('sends to go on during the outage', () => s.reached(before + 30), 10_000)
    enough()
    const during = await s.done
    for (const node of [cluster.A, cluster.B]) expect((await readyz(node)).status).toBe(503)
    expect(during.length).toBeGreaterThanOrEqual(ackedAtKill + 30)

    await redis.start()
    for (const node of [cluster.A, cluster.B]) {
      await waitFor(`${node.id} /readyz 200`, async () => (await readyz(node)).status === 200, 15_000)
      expect((await readyz(node)).body.down).toEqual({})
    }
    await expectEverythingOnce(subs, during)

    // Live again through Redis.
    const after = await stream((i) => send(sender, room.id, `after ${i}`), { min: 50 }).done
    await expectEverythingOnce(subs, [...during, ...after])
    for (const sub of subs) sub.stop()
  }, 60_000)

  it('CLIENT KILL TYPE pubsub during a stream: subscribers catch up without reconnecting their WebSockets', async () => {
    const { sender, readers, room, subs } = await setUp('dropped')
    // Every state each reader's WebSocket goes through from here on ('pending' = open).
    const sockets = readers.map((r) => countConnects(r))
    expect(sockets.map((c) => c.states)).toEqual([['pending'], ['pending']])
    const admin = new Redis(cluster.redis!.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
    await admin.connect()
    try {
      let dropped!: () => void
      const afterDrop = new Promise<void>((r) => (dropped = r))
      const s = stream((i) => send(sender, room.id, `m${i}`), { min: 50, until: afterDrop })
      await waitFor('the stream to be under way', () => s.reached(50), 20_000)

      // Redis cuts every node's subscriber connection (what it does to a slow
      // subscriber over its output-buffer limit). Publishes keep being
      // accepted; a burst right away lands before the nodes resubscribe, and
      // the stream ends with it, so only the resync can deliver it to node B.
      const killed = Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))
      expect(killed).toBeGreaterThanOrEqual(2)
      dropped()
      const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => send(sender, room.id, `burst ${i}`)))
      const acked = [...(await s.done), ...burst]
      await expectEverythingOnce(subs, acked)

      // Each node is subscribed again (its heartbeat channel, presence and the room)…
      // (a node whose readers are elsewhere may take a reconnect backoff longer to get there).
      const subscribedNodes = async () => String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).match(/name=bus-sub:node-[ab]/g)?.sort() ?? []
      await waitFor('both nodes to resubscribe', async () => (await subscribedNodes()).length === 2, 10_000)
      expect(await subscribedNodes()).toEqual(['name=bus-sub:node-a', 'name=bus-sub:node-b'])
      // …and live delivery carries on.
      const after = await stream((i) => send(sender, room.id, `after ${i}`), { min: 50 }).done
      await expectEverythingOnce(subs, [...acked, ...after])
    } finally {
      admin.disconnect()
    }
    // The readers' WebSockets never dropped: no reconnect, open all along.
    expect(sockets.map((c) => c.connects)).toEqual([0, 0])
    expect(sockets.map((c) => c.states)).toEqual([['pending'], ['pending']])
    for (const c of sockets) c.stop()
    for (const sub of subs) sub.stop()
  }, 60_000)
})
