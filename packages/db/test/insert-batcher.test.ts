import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MongoServerError, ObjectId } from 'mongodb'
import type { RoomEvent } from '@parley/schemas'
import { createEventLog, isDuplicateKey } from '../src/index.ts'
import { createInsertBatcher } from '../src/repos/insert-batcher.ts'
import { openTestDatabase, type TestDatabase } from './harness.ts'

// A database of our own with command monitoring, to count the commands that reach the server.
let database: TestDatabase
const commands: string[] = []
beforeAll(async () => {
  database = await openTestDatabase((name) => commands.push(name))
})
afterAll(() => database.drop())

const inserts = () => commands.filter((c) => c === 'insert').length
const updated = (roomId: ObjectId) => (seq: number): RoomEvent => ({ type: 'member.updated', roomId: roomId.toHexString(), seq, userId: new ObjectId().toHexString(), role: 'member' })

describe('insert group commit', () => {
  it('sends the inserts of one turn as one command and gives each caller its own outcome', async () => {
    const coll = database.db.collection<{ _id: ObjectId; k: string }>('batched')
    await coll.createIndex({ k: 1 }, { unique: true, name: 'k_unique' })
    await coll.insertOne({ _id: new ObjectId(), k: 'taken' })
    const insert = createInsertBatcher(coll)
    const before = inserts()
    const keys = ['a', 'b', 'taken', 'c', 'a', 'd']
    const outcomes = await Promise.allSettled(keys.map((k) => insert({ _id: new ObjectId(), k })))
    expect(inserts() - before).toBe(1)
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'])
    for (const o of outcomes) {
      if (o.status === 'fulfilled') continue
      // What insertOne would have thrown: a MongoServerError naming the index.
      expect(o.reason).toBeInstanceOf(MongoServerError)
      expect(o.reason).toMatchObject({ code: 11000 })
      expect(isDuplicateKey(o.reason, 'k_unique')).toBe(true)
    }
    expect((await coll.find({}).toArray()).map((d) => d.k).sort()).toEqual(['a', 'b', 'c', 'd', 'taken'])
  })

  it('a lone insert is a plain insertOne, with its duplicate-key error unchanged', async () => {
    const coll = database.db.collection<{ _id: ObjectId; k: string }>('batched')
    const insert = createInsertBatcher(coll)
    const err = await insert({ _id: new ObjectId(), k: 'taken' }).catch((e: unknown) => e)
    const direct = await coll.insertOne({ _id: new ObjectId(), k: 'taken' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MongoServerError)
    expect((err as MongoServerError).message).toBe((direct as MongoServerError).message)
    expect(isDuplicateKey(err, 'k_unique')).toBe(true)
  })

  it('event log: appends to many rooms in one turn share a command; conflicts and duplicates still resolve per room', async () => {
    const rooms = Array.from({ length: 10 }, () => new ObjectId())
    const authorId = new ObjectId()
    const a = createEventLog(database.collections)
    const b = createEventLog(database.collections) // another node
    await a.append(rooms[0]!, { build: updated(rooms[0]!) }) // a's hint for room 0: seq 1
    await b.append(rooms[0]!, { build: updated(rooms[0]!) }) // b takes seq 2: a's hint is now stale
    await a.append(rooms[1]!, { build: updated(rooms[1]!), idempotency: { authorId, clientId: 'once' } })
    // The other rooms have had one event each, so a knows where they stand (no read before the insert).
    for (const roomId of rooms.slice(2)) await a.append(roomId, { build: updated(roomId) })

    const before = inserts()
    const results = await Promise.all(rooms.map((roomId, i) => a.append(roomId, { build: updated(roomId), ...(i === 1 ? { idempotency: { authorId, clientId: 'once' } } : {}) })))
    // One command for all ten, then one retry for room 0 after its seq conflict.
    expect(inserts() - before).toBe(2)
    expect(results[0]).toMatchObject({ ok: true, event: { seq: 3 } })
    expect(results[1]).toMatchObject({ ok: false, duplicateOf: { seq: 1, clientId: 'once' } })
    for (const r of results.slice(2)) expect(r).toMatchObject({ ok: true, event: { seq: 2 } })
    for (const roomId of rooms) {
      const seqs = (await database.collections.events.find({ roomId }).sort({ seq: 1 }).toArray()).map((e) => e.seq)
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1))
    }
  })
})
