/**
 * Equality and `$in` on ids are decided without mingo (src/fast-equality.ts):
 * the answers must stay MongoDB's, including arrays, nested paths, other
 * types and mixed filters. Run against a real MongoDB with MONGODB_URL too.
 */
import { type Collection, type Db, ObjectId } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, connect } from './helpers.ts'

let h: Harness
let db: Db
let coll: Collection
const [a, b, c] = [new ObjectId(), new ObjectId(), new ObjectId()]

beforeAll(async () => {
  h = await connect()
  db = h.client.db(`eq_${Math.random().toString(36).slice(2)}`)
  coll = db.collection('docs')
  await coll.insertMany([
    { n: 1, user: a, name: 'ann', tags: ['x', 'y'] },
    { n: 2, user: b, name: 'bob', nested: { user: a } },
    { n: 3, user: [a, c], name: 'ann' }, // an array: multikey semantics
    { n: 4, user: a.toHexString(), name: 'cy' }, // same hex, but a string: not equal to the ObjectId
    { n: 5, name: 'dee' }, // no user at all
    { n: 6, user: { id: a }, name: 'eve' },
    { n: 7, items: [{ user: b }, { user: c }], name: 'fay' },
  ])
})
afterAll(async () => {
  await db.dropDatabase()
  await h.close()
})

const ns = async (filter: object) => (await coll.find(filter).sort({ n: 1 }).toArray()).map((d) => d.n as number)

describe('equality on ids', () => {
  it('matches ObjectIds by value, elements of arrays, and never a string with the same hex', async () => {
    expect(await ns({ user: a })).toEqual([1, 3])
    expect(await ns({ user: new ObjectId(a.toHexString()) })).toEqual([1, 3])
    expect(await ns({ user: a.toHexString() })).toEqual([4])
    expect(await ns({ user: c })).toEqual([3])
  })

  it('$in over ids, with other clauses, nested paths and arrays of documents', async () => {
    expect(await ns({ user: { $in: [b, c] } })).toEqual([2, 3])
    expect(await ns({ user: { $in: [a, b] }, name: 'ann' })).toEqual([1, 3])
    expect(await ns({ user: { $in: [a] }, n: { $gt: 1 } })).toEqual([3])
    expect(await ns({ 'nested.user': a })).toEqual([2])
    expect(await ns({ 'user.id': { $in: [a, b] } })).toEqual([6])
    expect(await ns({ 'items.user': c })).toEqual([7])
    expect(await ns({ name: { $in: ['ann', 'dee'] } })).toEqual([1, 3, 5])
    expect(await ns({ tags: 'y' })).toEqual([1])
    expect(await ns({ user: { $in: [new ObjectId()] } })).toEqual([])
  })
})
