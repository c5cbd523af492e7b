import { type Db, MongoServerError } from 'mongodb'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Harness, connect } from './helpers.ts'

let h: Harness
let db: Db

beforeAll(async () => {
  h = await connect()
})
afterAll(async () => {
  await h.close()
})
beforeEach(() => {
  db = h.client.db(`ix_${Math.random().toString(36).slice(2)}`)
})

async function dupError(p: Promise<unknown>): Promise<MongoServerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(MongoServerError)
  expect((err as MongoServerError).code).toBe(11000)
  return err as MongoServerError
}

describe('index management', () => {
  it('creates, lists and drops indexes idempotently', async () => {
    const c = db.collection('m')
    expect(await c.createIndex({ roomId: 1, seq: 1 }, { unique: true })).toBe('roomId_1_seq_1')
    expect(await c.createIndex({ roomId: 1, seq: 1 }, { unique: true })).toBe('roomId_1_seq_1') // same spec: no-op
    await c.createIndex({ body: 1 }, { name: 'by_body' })
    const list = await c.listIndexes().toArray()
    expect(list.map((i) => i.name)).toEqual(['_id_', 'roomId_1_seq_1', 'by_body'])
    expect(list[1]).toMatchObject({ key: { roomId: 1, seq: 1 }, unique: true })
    expect(await c.indexExists('by_body')).toBe(true)
    await expect(c.createIndex({ roomId: 1, seq: 1 }, { name: 'roomId_1_seq_1', unique: false })).rejects.toBeInstanceOf(MongoServerError)
    await c.dropIndex('by_body')
    await expect(c.dropIndex('by_body')).rejects.toMatchObject({ code: 27 })
    await expect(c.dropIndex('_id_')).rejects.toMatchObject({ code: 72 })
    await c.dropIndexes()
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_'])
    await expect(db.collection('nope').listIndexes().toArray()).rejects.toMatchObject({ code: 26 })
  })

  it('fails to build a unique index over existing duplicates', async () => {
    const c = db.collection('d')
    await c.insertMany([{ a: 1 }, { a: 1 }])
    const err = await dupError(c.createIndex({ a: 1 }, { unique: true }))
    expect(err.message).toContain('index: a_1')
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_'])
  })
})

describe('unique constraints', () => {
  it('enforces _id uniqueness', async () => {
    const c = db.collection('ids')
    await c.insertOne({ _id: 'x' } as never)
    const err = await dupError(c.insertOne({ _id: 'x' } as never))
    expect(err.message).toBe(`E11000 duplicate key error collection: ${db.databaseName}.ids index: _id_ dup key: { _id: "x" }`)
  })

  it('enforces compound unique indexes and names the violated index', async () => {
    const c = db.collection('messages')
    await c.createIndex({ roomId: 1, seq: 1 }, { unique: true })
    await c.createIndex({ roomId: 1, authorId: 1, clientId: 1 }, { unique: true, partialFilterExpression: { clientId: { $exists: true } } })
    await c.insertOne({ roomId: 'r1', seq: 11, authorId: 'a', clientId: 'c1' })
    await c.insertOne({ roomId: 'r2', seq: 11, authorId: 'a', clientId: 'c1' }) // other room: fine

    const seqErr = await dupError(c.insertOne({ roomId: 'r1', seq: 11, authorId: 'b', clientId: 'c9' }))
    expect(seqErr.message).toBe(`E11000 duplicate key error collection: ${db.databaseName}.messages index: roomId_1_seq_1 dup key: { roomId: "r1", seq: 11 }`)
    expect(seqErr.keyPattern).toEqual({ roomId: 1, seq: 1 })
    expect(seqErr.keyValue).toEqual({ roomId: 'r1', seq: 11 })

    const clientErr = await dupError(c.insertOne({ roomId: 'r1', seq: 12, authorId: 'a', clientId: 'c1' }))
    expect(clientErr.message).toContain('index: roomId_1_authorId_1_clientId_1')
    expect(clientErr.keyPattern).toEqual({ roomId: 1, authorId: 1, clientId: 1 })

    // Partial index: documents without clientId are not indexed, so they never collide.
    await c.insertOne({ roomId: 'r1', seq: 13, authorId: 'a' })
    await c.insertOne({ roomId: 'r1', seq: 14, authorId: 'a' })
    expect(await c.countDocuments({ roomId: 'r1' })).toBe(3)

    // Updates are checked too, and a failed update changes nothing.
    const updErr = await dupError(c.updateOne({ seq: 14 }, { $set: { seq: 11 } }))
    expect(updErr.message).toContain('index: roomId_1_seq_1')
    expect(await c.countDocuments({ roomId: 'r1', seq: 14 })).toBe(1)
    const famErr = await dupError(c.findOneAndUpdate({ seq: 14 }, { $set: { clientId: 'c1' } }))
    expect(famErr.message).toContain('roomId_1_authorId_1_clientId_1')
    await c.updateOne({ seq: 14 }, { $set: { seq: 15 } })
    await c.insertOne({ roomId: 'r1', seq: 14, authorId: 'z' }) // old key was released
  })

  it('treats a missing field as null in a non-sparse unique index, but not in a sparse one', async () => {
    const c = db.collection('nulls')
    await c.createIndex({ email: 1 }, { unique: true })
    await c.insertOne({ name: 'a' })
    await dupError(c.insertOne({ name: 'b' }))
    const s = db.collection('sparse')
    await s.createIndex({ email: 1 }, { unique: true, sparse: true })
    await s.insertMany([{ name: 'a' }, { name: 'b' }])
    await dupError(s.insertMany([{ email: 'x' }, { email: 'x' }]))
  })
})

describe('index-backed queries', () => {
  it('returns the same results as a collection scan', async () => {
    const withIx = db.collection('withIx')
    const noIx = db.collection('noIx')
    await withIx.createIndex({ roomId: 1, seq: 1 }, { unique: true })
    await withIx.createIndex({ tags: 1 })
    const docs = []
    for (let r = 0; r < 5; r++) for (let s = 0; s < 60; s++) docs.push({ roomId: `room${r}`, seq: s, tags: [`t${s % 4}`, `u${s % 3}`], v: s % 7 === 0 ? null : s })
    // Mixed types in the indexed field must keep MongoDB's type bracketing.
    docs.push({ roomId: 'room0', seq: 'str', tags: [] }, { roomId: 'room0', tags: 'solo' } as never)
    await withIx.insertMany(docs.map((d) => ({ ...d })))
    await noIx.insertMany(docs.map((d) => ({ ...d })))

    const queries: [object, object | undefined, number, number][] = [
      [{ roomId: 'room1' }, { seq: -1 }, 0, 10],
      [{ roomId: 'room1', seq: { $lt: 30 } }, { seq: -1 }, 0, 50],
      [{ roomId: 'room2', seq: { $gte: 10, $lt: 20 } }, { seq: 1 }, 2, 5],
      [{ roomId: 'room0', seq: { $gt: 55 } }, undefined, 0, 0],
      [{ roomId: 'room0', seq: { $lte: 'zzz' } }, undefined, 0, 0],
      [{ roomId: { $in: ['room3', 'room4'] }, seq: 5 }, { roomId: 1 }, 0, 0],
      [{ roomId: 'room0', seq: { $exists: false } }, undefined, 0, 0],
      [{ tags: 't1' }, { seq: 1, roomId: 1 }, 0, 7],
      [{ tags: { $in: ['t2', 'u1'] }, roomId: 'room4' }, { seq: -1 }, 0, 0],
      [{ seq: 7 }, { roomId: -1 }, 0, 0],
      [{ $and: [{ roomId: 'room3' }, { seq: { $gt: 40 } }] }, { roomId: 1, seq: -1 }, 0, 3],
      [{}, { roomId: 1, seq: 1 }, 100, 10],
      [{ $or: [{ roomId: 'room1', seq: { $gt: 50 } }, { roomId: 'room3', seq: { $lte: 2 } }] }, { seq: -1, roomId: 1 }, 0, 0],
      [{ $or: [{ roomId: 'room1', seq: { $gt: 50 } }, { roomId: 'room1', seq: { $gt: 55 } }], v: { $ne: null } }, undefined, 0, 0],
      [{ $or: [{ roomId: 'room2' }, { tags: 'u2' }], seq: { $lt: 6 } }, { roomId: 1, seq: 1 }, 1, 4],
      [{ $or: [{ roomId: 'room2', seq: 3 }, { v: 4 }] }, undefined, 0, 0],
      [{ roomId: { $in: ['room0', 'room4'] }, $or: [{ seq: { $gt: 57 } }, { seq: { $lt: 1 } }] }, { roomId: -1, seq: 1 }, 0, 0],
      // Read by the first branch's plan and not matching it, matching the second: kept once.
      [{ $or: [{ roomId: 'room1', v: { $gt: 1000 } }, { roomId: 'room1', seq: { $lt: 5 } }, { roomId: 'room1', seq: { $lt: 3 } }] }, undefined, 0, 0],
      // A field both beside the $or and in a branch: both must hold.
      [{ $or: [{ roomId: 'room1', seq: { $gt: 50 } }, { roomId: 'room2', seq: { $lt: 3 } }], seq: { $ne: 52 }, v: { $ne: null } }, { roomId: 1, seq: 1 }, 0, 0],
    ]
    for (const [filter, sort, skip, limit] of queries) {
      const run = (c: typeof withIx) =>
        c
          .find(filter, { projection: { _id: 0 } })
          .sort((sort ?? {}) as never)
          .skip(skip)
          .limit(limit)
          .toArray()
      const [a, b] = await Promise.all([run(withIx), run(noIx)])
      if (sort) expect(a, JSON.stringify(filter)).toEqual(b)
      else expect(new Set(a.map((d) => JSON.stringify(d))), JSON.stringify(filter)).toEqual(new Set(b.map((d) => JSON.stringify(d))))
    }
  })

  // What the planner is for: reading the index range, not the collection (MongoDB reports it the same way).
  const scanned = async () => ((await db.admin().serverStatus()) as { metrics: { queryExecutor: { scannedObjects: number } } }).metrics.queryExecutor.scannedObjects

  it('serves an indexed history page by reading only that page', async () => {
    const c = db.collection('big')
    await c.createIndex({ roomId: 1, seq: 1 }, { unique: true })
    const batch = []
    for (let i = 0; i < 60_000; i++) batch.push({ roomId: `r${i % 100}`, seq: Math.floor(i / 100), body: 'x' })
    await c.insertMany(batch)
    const before = await scanned()
    const page = await c
      .find({ roomId: 'r7', seq: { $lt: 300 } })
      .sort({ seq: -1 })
      .limit(50)
      .toArray()
    expect(page.map((d) => d.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 299 - i))
    expect((await scanned()) - before).toBe(50)
  })

  it('reads one index range per $or branch (the unread counts of all of a user\'s rooms in one query)', async () => {
    const c = db.collection('events')
    await c.createIndex({ roomId: 1, seq: 1 }, { unique: true })
    const batch = []
    for (let r = 0; r < 50; r++) for (let seq = 1; seq <= 200; seq++) batch.push({ roomId: `r${r}`, seq, author: seq % 4 === 0 ? 'me' : 'them' })
    await c.insertMany(batch)
    const reads = [
      { roomId: 'r3', after: 190 },
      { roomId: 'r9', after: 195 },
      { roomId: 'r40', after: 200 },
    ]
    const before = await scanned()
    const counts = await c
      .aggregate([
        { $match: { $or: reads.map((r) => ({ roomId: r.roomId, seq: { $gt: r.after } })), author: { $ne: 'me' } } },
        { $group: { _id: '$roomId', n: { $sum: 1 } } },
        { $sort: { _id: 1 } },
      ])
      .toArray()
    // r3: seqs 191–200 less 192, 196, 200; r9: 196–200 less 196, 200; r40: none.
    expect(counts).toEqual([
      { _id: 'r3', n: 7 },
      { _id: 'r9', n: 3 },
    ])
    expect((await scanned()) - before).toBe(15)
    // A branch no index serves: one collection scan, the same answer.
    const all = await c.countDocuments({ $or: [{ roomId: 'r3', seq: { $gt: 190 } }, { author: 'nobody' }] })
    expect(all).toBe(10)
  })
})

describe('descending index fields', () => {
  it('sorts both ways on a { a: 1, n: -1 } index, with and without a range', async () => {
    {
      const col = db.collection('desc')
      await col.createIndex({ v: 1, n: -1 })
      await col.insertMany([1, 2, 3, 4, 5].map((n) => ({ v: 'p', n })))
      const ns = async (filter: object, dir: 1 | -1) => (await col.find(filter).sort({ n: dir }).toArray()).map((d) => d.n)
      expect(await ns({ v: 'p', n: { $lt: 4 } }, -1)).toEqual([3, 2, 1])
      expect(await ns({ v: 'p', n: { $lt: 4 } }, 1)).toEqual([1, 2, 3])
      expect(await ns({ v: 'p', n: { $gt: 2 } }, -1)).toEqual([5, 4, 3])
      expect(await ns({ v: 'p' }, -1)).toEqual([5, 4, 3, 2, 1])
    }
  })
})
