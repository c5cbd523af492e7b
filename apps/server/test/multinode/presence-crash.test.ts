/**
 * A crashed node cannot say its users went offline: the other nodes see them
 * go once their presence lapses, PRESENCE_TTL_MS after their node last
 * pushed it forward (every BUS_HEARTBEAT_MS). Both come from the environment.
 */
import { describe, expect, it } from 'vitest'
import { watchUser } from '../helpers.ts'
import { useCluster, waitFor } from './support.ts'

// The default TTL is 30 s: a test waiting 10 s for the crash to show fails with it.
const cluster = useCluster({ nodes: 2, env: { BUS_HEARTBEAT_MS: '250', PRESENCE_TTL_MS: '1500' } })
const { clients } = cluster

describe('presence when a node crashes', () => {
  it('its users show offline on the other node within PRESENCE_TTL_MS, not the default 30 s', async () => {
    const alice = await clients.signUp(cluster.A)
    const bob = await clients.signUp(cluster.B)
    const room = await alice.trpc.rooms.create.mutate({ name: 'crash', visibility: 'public' })
    await bob.trpc.rooms.join.mutate({ roomId: room.id })
    const online = async () => Object.fromEntries((await alice.trpc.rooms.members.query({ roomId: room.id })).map((m) => [m.user.id, m.online]))

    const aliceSees = watchUser(alice)
    await aliceSees.started
    const bobOnB = watchUser(bob)
    await bobOnB.started
    await aliceSees.until((e) => e.some((x) => x.type === 'presence' && x.userId === bob.user.id && x.status === 'online'))
    // Two TTLs on: a live user's presence is pushed forward, not left to lapse.
    await new Promise((r) => setTimeout(r, 2 * 1500))
    expect((await online())[bob.user.id]).toBe(true)

    await cluster.B.kill('SIGKILL')
    bobOnB.stop()
    await aliceSees.until((e) => e.some((x) => x.type === 'presence' && x.userId === bob.user.id && x.status === 'offline'), 10_000)
    await waitFor('bob offline in the member list', async () => ((await online())[bob.user.id] === false ? true : undefined))
  }, 40_000)
})
