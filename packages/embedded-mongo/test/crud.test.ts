import { type Db, MongoServerError, ObjectId } from 'mongodb'
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
beforeEach(async () => {
  db = h.client.db(`crud_${Math.random().toString(36).slice(2)}`)
})

describe('handshake and admin commands', () => {
  it('answers ping, hello and buildInfo', async () => {
    const admin = h.client.db('admin')
    expect(await admin.command({ ping: 1 })).toMatchObject({ ok: 1 })
    const hello = await admin.command({ hello: 1 })
    expect(hello).toMatchObject({ isWritablePrimary: true, ok: 1 })
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(21)
    expect(hello.setName).toBeUndefined()
    expect((await admin.command({ buildInfo: 1 })).version).toMatch(/^\d+\.\d+/)
    expect((await admin.command({ serverStatus: 1 })).ok).toBe(1)
  })

  it('lists and drops databases and collections', async () => {
    await db.collection('a').insertOne({ x: 1 })
    await db.createCollection('b')
    await expect(db.createCollection('b')).rejects.toMatchObject({ code: 48 })
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort()
    expect(names).toEqual(['a', 'b'])
    expect((await db.listCollections({ name: 'a' }).toArray()).map((c) => c.name)).toEqual(['a'])
    const dbs = await h.client.db('admin').admin().listDatabases()
    expect(dbs.databases.map((d) => d.name)).toContain(db.databaseName)
    expect(await db.collection('b').drop()).toBe(true)
    expect((await db.listCollections().toArray()).map((c) => c.name)).toEqual(['a'])
    await db.dropDatabase()
    expect(await db.listCollections().toArray()).toEqual([])
  })
})

describe('insert and find', () => {
  it('round-trips BSON types and assigns _id first', async () => {
    const c = db.collection('docs')
    const when = new Date('2024-01-02T03:04:05Z')
    const { insertedId } = await c.insertOne({ s: 'hé', n: 1.5, i: 42, d: when, nested: { a: [1, { b: null }] }, t: true })
    expect(insertedId).toBeInstanceOf(ObjectId)
    const doc = await c.findOne({ _id: insertedId })
    expect(doc).toEqual({ _id: insertedId, s: 'hé', n: 1.5, i: 42, d: when, nested: { a: [1, { b: null }] }, t: true })
    expect(Object.keys(doc ?? {})[0]).toBe('_id')
  })

  it('reports write errors for ordered and unordered inserts', async () => {
    const c = db.collection('w')
    await c.insertOne({ _id: 1 } as never)
    const ordered = await c.insertMany([{ _id: 2 }, { _id: 1 }, { _id: 3 }] as never[]).catch((e: unknown) => e)
    expect(ordered).toBeInstanceOf(MongoServerError)
    expect((ordered as MongoServerError).code).toBe(11000)
    expect(await c.countDocuments()).toBe(2) // stopped at the duplicate
    const unordered = await c.insertMany([{ _id: 4 }, { _id: 1 }, { _id: 5 }] as never[], { ordered: false }).catch((e: unknown) => e)
    expect((unordered as { writeErrors: { index: number; code: number }[] }).writeErrors.map((w) => [w.index, w.code])).toEqual([[1, 11000]])
    expect(await c.countDocuments()).toBe(4)
  })

  it('supports filter, sort, projection, skip and limit', async () => {
    const c = db.collection('f')
    await c.insertMany(Array.from({ length: 20 }, (_, i) => ({ i, parity: i % 2 ? 'odd' : 'even', tags: [`t${i % 3}`] })))
    const page = await c.find({ parity: 'even' }, { projection: { _id: 0, i: 1 } }).sort({ i: -1 }).skip(2).limit(3).toArray()
    expect(page).toEqual([{ i: 14 }, { i: 12 }, { i: 10 }])
    expect(await c.countDocuments({ tags: 't1' })).toBe(7)
    expect(await c.find({ i: { $in: [3, 5, 99] } }).project({ i: 1, _id: 0 }).toArray()).toEqual([{ i: 3 }, { i: 5 }])
    // The legacy `count` command, as older drivers and tools send it.
    expect(await db.command({ count: 'f', query: { $or: [{ i: 1 }, { i: { $gt: 18 } }] } })).toMatchObject({ n: 2, ok: 1 })
    expect(await c.findOne({ nope: { $exists: true } })).toBeNull()
  })

  it('projects like MongoDB: _id first, fields in document order; operators and paths too', async () => {
    const c = db.collection('p')
    await c.insertOne({ _id: 1, b: 2, a: 1, nested: { x: 1, y: 2 }, list: [1, 2, 3], n: null } as never)
    const one = (projection: Record<string, unknown>) => c.findOne({ _id: 1 } as never, { projection })
    expect(Object.keys((await one({ a: 1, b: 1 }))!)).toEqual(['_id', 'b', 'a'])
    expect(await one({ a: true, _id: 0 })).toEqual({ a: 1 })
    expect(await one({ nested: 0, list: 0 })).toEqual({ _id: 1, b: 2, a: 1, n: null })
    expect(await one({ nested: 0, _id: 0 })).toEqual({ b: 2, a: 1, list: [1, 2, 3], n: null })
    expect(await one({ missing: 1 })).toEqual({ _id: 1 })
    expect(await one({ n: 1 })).toEqual({ _id: 1, n: null })
    // Dotted fields: through subdocuments in the document's order, an empty one where none is there.
    expect(await one({ 'nested.y': 1 })).toEqual({ _id: 1, nested: { y: 2 } })
    expect(Object.keys((await one({ 'nested.y': 1, 'nested.x': 1, b: 1 }))!)).toEqual(['_id', 'b', 'nested'])
    expect(Object.keys((await one({ 'nested.y': 1, 'nested.x': 1, b: 1 }))!.nested)).toEqual(['x', 'y'])
    expect(await one({ 'nested.z': 1, _id: 0 })).toEqual({ nested: {} })
    expect(await one({ 'a.z': 1, 'missing.z': 1 })).toEqual({ _id: 1 })
    expect(await one({ 'list.z': 1, a: 1 })).toEqual({ _id: 1, a: 1, list: [] })
    await expect(one({ nested: 1, 'nested.y': 1 })).rejects.toBeInstanceOf(MongoServerError)
    // The general path: $slice, $elemMatch, only _id.
    expect(await one({ list: { $slice: 2 } })).toMatchObject({ list: [1, 2] })
    expect(await one({ _id: 1 })).toEqual({ _id: 1 })
    await expect(one({ a: 1, b: 0 })).rejects.toBeInstanceOf(MongoServerError)
  })

  it('filters with nested operators and $expr', async () => {
    const c = db.collection('q')
    await c.insertMany([
      { i: 1, tags: ['a', 'b'], items: [{ k: 1 }, { k: 5 }], s: 'apple', lo: 1, hi: 3 },
      { i: 2, tags: ['b'], items: [{ k: 2 }], s: 'banana', lo: 4, hi: 2 },
      { i: 3, tags: [], items: [], s: 'cherry', lo: 0, hi: 0 },
    ])
    const ids = async (filter: Record<string, unknown>) => (await c.find(filter).sort({ i: 1 }).toArray()).map((d) => d.i as number)
    expect(await ids({ items: { $elemMatch: { k: { $gt: 3 } } } })).toEqual([1])
    expect(await ids({ i: { $not: { $gte: 2 } } })).toEqual([1])
    expect(await ids({ $or: [{ tags: 'a' }, { s: { $regex: '^ch' } }] })).toEqual([1, 3])
    expect(await ids({ tags: { $size: 0 } })).toEqual([3])
    expect(await ids({ $and: [{ i: { $in: [1, 2, 3] } }, { $nor: [{ i: 2 }] }] })).toEqual([1, 3])
    expect(await ids({ $expr: { $lt: ['$lo', '$hi'] } })).toEqual([1])
  })

  it('pages through cursors with getMore and killCursors', async () => {
    const c = db.collection('cur')
    await c.insertMany(Array.from({ length: 250 }, (_, i) => ({ i })))
    const all = await c.find({}, { batchSize: 7 }).sort({ i: 1 }).toArray()
    expect(all.map((d) => d.i)).toEqual(Array.from({ length: 250 }, (_, i) => i))

    const cursor = c.find({}).batchSize(10)
    let seen = 0
    for await (const _ of cursor) if (++seen === 25) break // breaking out kills the cursor
    expect(seen).toBe(25)

    const agg = await c.aggregate([{ $match: { i: { $gte: 100 } } }, { $project: { _id: 0, i: 1 } }], { batchSize: 5 }).toArray()
    expect(agg).toHaveLength(150)
    await expect(h.client.db(db.databaseName).command({ getMore: 12345, collection: 'cur' })).rejects.toMatchObject({ code: 43 })
  })

  it('deletes one or many', async () => {
    const c = db.collection('del')
    await c.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }])
    expect((await c.deleteOne({ k: 1 })).deletedCount).toBe(1)
    expect((await c.deleteMany({})).deletedCount).toBe(2)
    expect((await c.deleteMany({ k: 1 })).deletedCount).toBe(0)
  })
})

describe('updates', () => {
  it('applies operators on dotted paths and counts n/nModified', async () => {
    const c = db.collection('u')
    await c.insertMany([{ _id: 1, a: { b: 1 }, list: [1, 2], n: 5 } as never, { _id: 2, n: 5 } as never])
    const r = await c.updateOne({ _id: 1 } as never, { $set: { 'a.b': 2, 'a.c': 'x' }, $push: { list: 3 } as never, $inc: { n: 1 }, $unset: { missing: '' } })
    expect(r).toMatchObject({ matchedCount: 1, modifiedCount: 1 })
    expect(await c.findOne({ _id: 1 } as never)).toEqual({ _id: 1, a: { b: 2, c: 'x' }, list: [1, 2, 3], n: 6 })
    const same = await c.updateMany({}, { $set: { n: 6 } })
    expect(same).toMatchObject({ matchedCount: 2, modifiedCount: 1 })
    await c.updateMany({}, { $addToSet: { list: 2 } as never, $min: { n: 0 }, $currentDate: { at: true } })
    const d = await c.findOne({ _id: 2 } as never)
    expect(d?.list).toEqual([2])
    expect(d?.n).toBe(0)
    expect(d?.at).toBeInstanceOf(Date)
    await c.updateOne({ _id: 1 } as never, { $pull: { list: { $gte: 2 } } as never, $rename: { a: 'renamed' } })
    expect(await c.findOne({ _id: 1 } as never, { projection: { list: 1, renamed: 1 } })).toEqual({ _id: 1, list: [1], renamed: { b: 2, c: 'x' } })
  })

  it('replaces documents and refuses to change _id', async () => {
    const c = db.collection('r')
    await c.insertOne({ _id: 1, a: 1, b: 2 } as never)
    expect((await c.replaceOne({ _id: 1 } as never, { a: 5 })).modifiedCount).toBe(1)
    expect(await c.findOne({})).toEqual({ _id: 1, a: 5 })
    await expect(c.replaceOne({ _id: 1 } as never, { _id: 2, a: 1 } as never)).rejects.toMatchObject({ code: 66 })
    await expect(c.updateOne({ _id: 1 } as never, { $set: { _id: 3 } } as never)).rejects.toMatchObject({ code: 66 })
  })

  it('upserts, seeding fields from equality filters and $setOnInsert', async () => {
    const c = db.collection('up')
    const r = await c.updateOne({ roomId: 'r1', 'meta.kind': 'x', n: { $gt: 3 } }, { $set: { v: 1 }, $setOnInsert: { created: true } }, { upsert: true })
    expect(r.upsertedCount).toBe(1)
    expect(r.upsertedId).toBeInstanceOf(ObjectId)
    const doc = await c.findOne({ _id: r.upsertedId as ObjectId })
    expect(doc).toEqual({ _id: r.upsertedId, roomId: 'r1', meta: { kind: 'x' }, v: 1, created: true })
    const again = await c.updateOne({ roomId: 'r1' }, { $set: { v: 2 }, $setOnInsert: { created: false } }, { upsert: true })
    expect(again).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 })
    expect((await c.findOne({ roomId: 'r1' }))?.created).toBe(true)
    const rep = await c.replaceOne({ _id: 'fixed' } as never, { z: 1 }, { upsert: true })
    expect(rep.upsertedId).toBe('fixed')
    const bulk = await c.bulkWrite([
      { updateOne: { filter: { k: 1 }, update: { $set: { k: 1 } }, upsert: true } },
      { updateOne: { filter: { k: 2 }, update: { $set: { k: 2 } }, upsert: true } },
    ])
    expect(Object.keys(bulk.upsertedIds)).toEqual(['0', '1'])
  })

  it('supports arrayFilters and the positional operator', async () => {
    const c = db.collection('af')
    await c.insertOne({ _id: 1, items: [{ k: 'a', v: 1 }, { k: 'b', v: 2 }, { k: 'b', v: 3 }] } as never)
    await c.updateOne({ _id: 1 } as never, { $set: { 'items.$[it].v': 0 } }, { arrayFilters: [{ 'it.k': 'b' }] })
    expect((await c.findOne({ _id: 1 } as never))?.items.map((i: { v: number }) => i.v)).toEqual([1, 0, 0])
    await c.updateOne({ _id: 1, 'items.k': 'a' } as never, { $set: { 'items.$.v': 9 } })
    expect((await c.findOne({ _id: 1 } as never))?.items.map((i: { v: number }) => i.v)).toEqual([9, 0, 0])
  })

  it('supports pipeline-style updates', async () => {
    const c = db.collection('pipe')
    await c.insertOne({ _id: 1, a: 2, b: 3 } as never)
    await c.updateOne({ _id: 1 } as never, [{ $set: { sum: { $add: ['$a', '$b'] } } }])
    expect(await c.findOne({ _id: 1 } as never)).toEqual({ _id: 1, a: 2, b: 3, sum: 5 })
  })

  it('rejects unknown update operators with a server error', async () => {
    const c = db.collection('bad')
    await c.insertOne({ a: 1 })
    await expect(c.updateOne({}, { $frobnicate: { a: 1 } } as never)).rejects.toBeInstanceOf(MongoServerError)
  })
})

describe('findAndModify', () => {
  it('returns before/after documents, upserts and removes', async () => {
    const c = db.collection('fam')
    await c.insertMany([{ q: 1, v: 1 }, { q: 1, v: 2 }])
    const before = await c.findOneAndUpdate({ q: 1 }, { $inc: { v: 10 } }, { sort: { v: -1 } })
    expect(before?.v).toBe(2)
    const after = await c.findOneAndUpdate({ q: 1 }, { $inc: { v: 10 } }, { sort: { v: -1 }, returnDocument: 'after', projection: { _id: 0, v: 1 } })
    expect(after).toEqual({ v: 22 })
    const meta = await c.findOneAndUpdate({ q: 7 }, { $set: { v: 0 } }, { upsert: true, returnDocument: 'after', includeResultMetadata: true })
    expect(meta.lastErrorObject).toMatchObject({ n: 1, updatedExisting: false })
    expect(meta.lastErrorObject?.upserted).toBeInstanceOf(ObjectId)
    expect(meta.value).toMatchObject({ q: 7, v: 0 })
    expect(await c.findOneAndUpdate({ q: 99 }, { $set: { v: 0 } })).toBeNull()
    const removed = await c.findOneAndDelete({ q: 7 })
    expect(removed?.v).toBe(0)
    expect(await c.countDocuments({ q: 7 })).toBe(0)
    const replaced = await c.findOneAndReplace({ v: 1 }, { q: 2, v: 100 }, { returnDocument: 'after' })
    expect(replaced).toMatchObject({ q: 2, v: 100 })
  })
})

describe('count, distinct and aggregate', () => {
  it('counts, distinct values and aggregates', async () => {
    const orders = db.collection('orders')
    const users = db.collection('users')
    await users.insertMany([{ _id: 'u1', name: 'Ann' } as never, { _id: 'u2', name: 'Bob' } as never])
    await orders.insertMany([
      { user: 'u1', total: 10, tags: ['a', 'b'] },
      { user: 'u1', total: 5, tags: ['b'] },
      { user: 'u2', total: 7, tags: [] },
    ])
    expect(await orders.countDocuments()).toBe(3)
    expect(await orders.countDocuments({ total: { $gte: 7 } })).toBe(2)
    expect(await orders.countDocuments({}, { limit: 2 })).toBe(2)
    expect(await orders.estimatedDocumentCount()).toBe(3)
    expect(await orders.distinct('tags')).toEqual(['a', 'b'])
    expect(await orders.distinct('user', { total: { $lt: 8 } })).toEqual(['u1', 'u2'])

    const byUser = await orders
      .aggregate([
        { $match: { total: { $gt: 0 } } },
        { $group: { _id: '$user', sum: { $sum: '$total' }, n: { $sum: 1 } } },
        { $sort: { sum: -1 } },
        { $lookup: { from: 'users', localField: '_id', foreignField: '_id', as: 'user' } },
        { $project: { _id: 1, sum: 1, n: 1, name: { $arrayElemAt: ['$user.name', 0] } } },
      ])
      .toArray()
    expect(byUser).toEqual([
      { _id: 'u1', sum: 15, n: 2, name: 'Ann' },
      { _id: 'u2', sum: 7, n: 1, name: 'Bob' },
    ])
    expect(await orders.aggregate([{ $sort: { total: 1 } }, { $skip: 1 }, { $limit: 1 }, { $project: { _id: 0, total: 1 } }]).toArray()).toEqual([{ total: 7 }])
    expect(await orders.aggregate([{ $match: { user: 'u1' } }, { $count: 'c' }]).toArray()).toEqual([{ c: 2 }])
    const ids = await orders.aggregate([{ $project: { _id: 1 } }]).toArray()
    expect(ids[0]?._id).toBeInstanceOf(ObjectId) // stored ObjectIds survive mingo's cloning
    await orders.aggregate([{ $match: { user: 'u2' } }, { $out: 'u2orders' }]).toArray()
    expect(await db.collection('u2orders').countDocuments()).toBe(1)
  })
})
