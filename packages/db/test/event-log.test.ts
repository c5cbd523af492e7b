import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ObjectId } from 'mongodb'
import type { RoomEvent } from '@parley/schemas'
import { createEventLog, INDEX, isDuplicateKey } from '../src/index.ts'
import { openTestDatabase, type TestDatabase } from './harness.ts'

let database: TestDatabase
let commands: string[] = []
beforeAll(async () => {
  database = await openTestDatabase((name) => commands.push(name))
})
afterAll(() => database.drop())

const joined = (roomId: ObjectId) => (seq: number): RoomEvent => ({
  type: 'member.updated',
  roomId: roomId.toHexString(),
  seq,
  userId: new ObjectId().toHexString(),
  role: 'member',
})

/**
 * Reads the room's log while it is written, until it holds `total` events:
 * everything visible must continue the sequence — an event past a hole would
 * make a reader skip the hole's seq for ever. `finish()` once the writes are done.
 */
function readWhileWritten(roomId: ObjectId, total: number) {
  const reader = createEventLog(database.collections)
  let last = 0
  let holes = 0
  let writing = true
  const reading = (async () => {
    while (writing || last < total) {
      const batch = await reader.after(roomId, last, 100)
      for (const e of batch) {
        if (e.seq !== last + 1) holes++
        last = e.seq
      }
      if (batch.length === 0) await new Promise((r) => setTimeout(r, 1))
    }
  })()
  return {
    async finish(): Promise<{ last: number; holes: number }> {
      writing = false
      await reading
      return { last, holes }
    },
  }
}

/** The room's seqs are 1…total, each once, each event's data carrying its own. */
async function expectDense(roomId: ObjectId, total: number): Promise<void> {
  const all = await database.collections.events.find({ roomId }).sort({ seq: 1 }).toArray()
  expect(all.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
  expect(all.every((e) => e.data.seq === e.seq)).toBe(true)
}

describe('the room event log', () => {
  it('20 concurrent appenders × 50 events: seqs 1…1000 once each, and a reader never sees a hole that later fills', async () => {
    const roomId = new ObjectId()
    // One log per appender, as if each were its own server node: they really race on the unique index.
    const appenders = Array.from({ length: 20 }, () => createEventLog(database.collections))
    const reader = readWhileWritten(roomId, 1000)
    await Promise.all(
      appenders.map(async (log) => {
        for (let i = 0; i < 50; i++) await log.append(roomId, { build: joined(roomId) })
      }),
    )
    expect(await reader.finish()).toEqual({ last: 1000, holes: 0 })
    await expectDense(roomId, 1000)
  }, 120_000)

  it('4 nodes × 100 appends fired at once: seqs 1…400 once each, no hole ever visible, each node\'s events in the order it was asked', async () => {
    const roomId = new ObjectId()
    const nodes = Array.from({ length: 4 }, () => createEventLog(database.collections))
    const reader = readWhileWritten(roomId, 400)
    // Not awaited one by one: each node's appends to the room are in flight together, as a busy node's are.
    const results = await Promise.all(nodes.map((log) => Promise.all(Array.from({ length: 100 }, () => log.append(roomId, { build: joined(roomId) })))))
    expect(await reader.finish()).toEqual({ last: 400, holes: 0 })
    await expectDense(roomId, 400)
    for (const mine of results) {
      const seqs = mine.map((r) => (r.ok ? r.event.seq : -1))
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
      expect(seqs.every((x) => x > 0)).toBe(true)
    }
  }, 120_000)

  it('a repeated idempotency key among sends in flight together gets the original and leaves no hole', async () => {
    const roomId = new ObjectId()
    const authorId = new ObjectId()
    const log = createEventLog(database.collections)
    const original = await log.append(roomId, { build: joined(roomId), idempotency: { authorId, clientId: 'sent before' } }) // seq 1
    const send = (clientId: string) => log.append(roomId, { build: joined(roomId), idempotency: { authorId, clientId } })
    const results = await Promise.all(['a', 'b', 'sent before', 'c', 'd'].map(send))
    expect(results.map((r) => r.ok && r.event.seq)).toEqual([2, 3, false, 4, 5])
    expect(results[2]).toEqual({ ok: false, duplicateOf: original.ok && original.event })
    const stored = await database.collections.events.find({ roomId }).sort({ seq: 1 }).toArray()
    expect(stored.map((e) => [e.seq, e.clientId])).toEqual([[1, 'sent before'], [2, 'a'], [3, 'b'], [4, 'c'], [5, 'd']])
  })

  it('an appender that lost a race for a seq takes the next one without reading the log', async () => {
    const roomId = new ObjectId()
    const [nodeA, nodeB] = [createEventLog(database.collections), createEventLog(database.collections)]
    await nodeA.append(roomId, { build: joined(roomId) }) // seq 1; A's hint is now 1
    await nodeB.append(roomId, { build: joined(roomId) }) // seq 2, unseen by A
    commands = []
    const result = await nodeA.append(roomId, { build: joined(roomId) })
    expect(result).toMatchObject({ ok: true, event: { seq: 3, data: { seq: 3 } } })
    // Tried 2 (taken), then 3: no query for the latest seq.
    expect(commands).toEqual(['insert', 'insert'])
    const seqs = (await database.collections.events.find({ roomId }).sort({ seq: 1 }).toArray()).map((e) => e.seq)
    expect(seqs).toEqual([1, 2, 3])
  })

  it('an appender that lost a race starts past the events it has seen from the other node meanwhile, without reading the log', async () => {
    const roomId = new ObjectId()
    const [nodeA, nodeB] = [createEventLog(database.collections), createEventLog(database.collections)]
    await nodeA.append(roomId, { build: joined(roomId) }) // seq 1; A's hint is now 1
    for (let i = 0; i < 3; i++) await nodeB.append(roomId, { build: joined(roomId) }) // seqs 2–4, unseen by A
    commands = []
    const appending = nodeA.append(roomId, { build: joined(roomId) }) // will try 2
    // While A's insert is on its way, B's events arrive on the bus (inserts leave at the end of the turn).
    await new Promise((resolve) => setImmediate(resolve))
    nodeA.observe(roomId, 4)
    const result = await appending
    expect(result).toMatchObject({ ok: true, event: { seq: 5, data: { seq: 5 } } })
    // Tried 2 (taken), then 5: not 3 (taken too), and no query for the latest seq.
    expect(commands).toEqual(['insert', 'insert'])
  })

  it('tells a seq conflict from an idempotency conflict by index name', async () => {
    const roomId = new ObjectId()
    const authorId = new ObjectId()
    const base = { roomId, createdAt: new Date(), data: joined(roomId)(1) }
    await database.collections.events.insertOne({ _id: new ObjectId(), seq: 1, authorId, clientId: 'c1', ...base })
    const seqClash = await database.collections.events.insertOne({ _id: new ObjectId(), seq: 1, ...base }).catch((e: unknown) => e)
    const clientClash = await database.collections.events.insertOne({ _id: new ObjectId(), seq: 2, authorId, clientId: 'c1', ...base }).catch((e: unknown) => e)
    expect(seqClash).toMatchObject({ code: 11000 })
    expect(isDuplicateKey(seqClash, INDEX.eventsRoomSeq)).toBe(true)
    expect(isDuplicateKey(seqClash, INDEX.eventsClientId)).toBe(false)
    expect(isDuplicateKey(clientClash, INDEX.eventsClientId)).toBe(true)
    expect(isDuplicateKey(clientClash, INDEX.eventsRoomSeq)).toBe(false)
  })

  it('returns the original event for a repeated idempotency key, from any appender', async () => {
    const roomId = new ObjectId()
    const authorId = new ObjectId()
    const logs = [createEventLog(database.collections), createEventLog(database.collections)]
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => logs[i % 2]!.append(roomId, { build: joined(roomId), idempotency: { authorId, clientId: 'same' } })),
    )
    const originals = new Set(results.map((r) => (r.ok ? r.event : r.duplicateOf)._id.toHexString()))
    expect(originals.size).toBe(1)
    expect(results.filter((r) => r.ok)).toHaveLength(1)
    expect(await database.collections.events.countDocuments({ roomId })).toBe(1)
  })
})
