/**
 * A node dying costs nobody a message: the subscriber's node is SIGKILLed in
 * the middle of a stream, the client resumes on the surviving node with its
 * last event id (what a load balancer does), and ends with every acknowledged
 * message exactly once, in order.
 */
import { describe, expect, it } from 'vitest'
import { range, send, seqsOf, watchRoom } from '../helpers.ts'
import { duplicates, stream, useCluster } from './support.ts'

const cluster = useCluster({ nodes: 2 })
const { clients } = cluster

describe('failover', () => {
  it('SIGKILL of the subscriber’s node mid-stream: resuming on the other node loses and repeats nothing', async () => {
    const sender = await clients.signUp(cluster.A)
    const reader = await clients.signUp(cluster.B)
    const room = await sender.trpc.rooms.create.mutate({ name: 'failover', visibility: 'public' })
    await reader.trpc.rooms.join.mutate({ roomId: room.id })

    // From the room's current position: only the sender writes from here on.
    const onB = watchRoom(reader, room.id)
    await onB.started
    const s = stream((i) => send(sender, room.id, `m${i}`), { min: 500 })

    // Well into the stream, node B crashes.
    await onB.until((e) => seqsOf(e).length >= 100, 20_000)
    await cluster.B.kill('SIGKILL')
    expect(cluster.B.running).toBe(false)
    const ackedAtKill = s.acked.length
    const lastId = onB.lastId!
    onB.stop()

    // The load balancer sends the reader's reconnect to node A, with its last id.
    const readerOnA = clients.on(cluster.A, reader.jar)
    const onA = watchRoom(readerOnA, room.id, lastId)
    const acked = await s.done
    const first = acked[0]!.seq
    const last = acked.at(-1)!.seq
    await onA.until((e) => seqsOf(e).includes(last), 20_000)

    expect(ackedAtKill).toBeLessThan(500) // the kill really happened mid-stream
    expect(acked).toHaveLength(500)
    const received = [...seqsOf(onB.items), ...seqsOf(onA.items)]
    expect(duplicates(received)).toEqual([])
    expect(received).toEqual(range(first, last))
    expect(acked.map((m) => m.seq)).toEqual(range(first, last))
    const ids = [...onB.items, ...onA.items].flatMap((e) => (e.type === 'message.created' ? [e.message.id] : []))
    expect(ids).toEqual(acked.map((m) => m.id))
    expect(onA.errors).toEqual([])
    onA.stop()
  }, 60_000)
})
