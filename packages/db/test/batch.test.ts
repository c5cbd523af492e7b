import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ObjectId } from 'mongodb'
import { batchedGroups, batchedLookup } from '../src/batch.ts'
import { createUsersRepo } from '../src/index.ts'
import { openTestDatabase, type TestDatabase } from './harness.ts'

// A database of our own with command monitoring, to count the queries that reach the server.
let database: TestDatabase
const finds: string[] = []
beforeAll(async () => {
  database = await openTestDatabase((name) => name === 'find' && finds.push(name))
})
afterAll(() => database.drop())

type Doc = { _id: ObjectId; n: number }
const person = (name: string) => ({ id: new ObjectId().toHexString(), username: name, displayName: name })
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

async function setUp(busyWindowMs?: number) {
  const coll = database.db.collection<Doc>(`lookup_${new ObjectId().toHexString()}`)
  const docs = Array.from({ length: 6 }, (_, n) => ({ _id: new ObjectId(), n }))
  await coll.insertMany(docs)
  const byId = batchedLookup<ObjectId, Doc>({
    key: (id) => id.toHexString(),
    fetch: (ids) => coll.find({ _id: { $in: [...ids] } }).toArray(),
    keyOf: (d) => d._id.toHexString(),
    ...(busyWindowMs === undefined ? {} : { busyWindowMs }),
  })
  return { docs, byId }
}

describe('batched point lookups', () => {
  it('send the lookups of one turn as one query; each caller gets its document or null', async () => {
    const { docs, byId } = await setUp()
    const before = finds.length
    const missing = new ObjectId()
    const found = await Promise.all([docs[0]!._id, missing, docs[3]!._id, docs[0]!._id].map(byId))
    expect(finds.length - before).toBe(1)
    expect(found.map((d) => d?.n ?? null)).toEqual([0, null, 3, 0])
  })

  it('hand the query each key once, however many callers asked for it', async () => {
    const { docs } = await setUp()
    const asked: string[][] = []
    const byN = batchedLookup<number, { n: number }>({
      key: (n) => String(n),
      fetch: async (ns) => {
        asked.push(ns.map(String))
        return docs.filter((d) => ns.includes(d.n))
      },
      keyOf: (d) => String(d.n),
    })
    const found = await Promise.all([2, 4, 2, 2].map(byN))
    expect(asked).toEqual([['2', '4']])
    expect(found.map((d) => d?.n)).toEqual([2, 4, 2, 2])
  })

  it('under load, lookups from the next turns share the next query instead of one each', async () => {
    // A window wide enough for four turns on a loaded CI machine (the default 5 ms is not).
    const { docs, byId } = await setUp(500)
    const before = finds.length
    const first = byId(docs[1]!._id) // goes at once
    await nextTurn()
    const later: Promise<Doc | null>[] = []
    for (const d of docs.slice(2)) {
      later.push(byId(d._id)) // one per turn, as handshakes arrive
      await nextTurn()
    }
    const all = await Promise.all([first, ...later])
    expect(all.map((d) => d?.n)).toEqual([1, 2, 3, 4, 5])
    expect(finds.length - before).toBe(2)
  })
})

describe('batched group lookups (a room\'s members)', () => {
  it('send the lookups of one turn as one query; each caller gets every document of its key, or none', async () => {
    type Member = { _id: ObjectId; room: string; n: number }
    const coll = database.db.collection<Member>(`groups_${new ObjectId().toHexString()}`)
    await coll.insertMany([1, 2, 3, 4, 5].map((n) => ({ _id: new ObjectId(), room: n % 2 ? 'odd' : 'even', n })))
    const membersOf = batchedGroups<string, Member>({
      key: (room) => room,
      fetch: (rooms) => coll.find({ room: { $in: [...rooms] } }).sort({ n: 1 }).toArray(),
      keyOf: (m) => m.room,
    })
    const before = finds.length
    const groups = await Promise.all(['odd', 'even', 'empty', 'odd'].map(membersOf))
    expect(finds.length - before).toBe(1)
    expect(groups.map((g) => g.map((m) => m.n))).toEqual([[1, 3, 5], [2, 4], [], [1, 3, 5]])
  })
})

describe('memberships', () => {
  it("a user's rooms and room checks asked together are one query, each answered for its own user", async () => {
    const { rooms } = database.repos
    const [ann, bob, cat] = [person('m-ann'), person('m-bob'), person('m-cat')]
    const r1 = await rooms.create({ name: 'm1', visibility: 'public', owner: ann })
    const r2 = await rooms.create({ name: 'm2', visibility: 'public', owner: ann })
    await rooms.addMember(r1, ann, 'owner')
    await rooms.addMember(r2, ann, 'owner')
    await rooms.addMember(r2, bob, 'member')
    const id = (p: { id: string }) => new ObjectId(p.id)
    const before = finds.length
    // As in a reconnect storm: users' events.user loads and handshakes' room checks in the same turn.
    const [annRooms, bobRooms, catRooms, bobInR2, bobInR1, annInR1] = await Promise.all([
      rooms.membershipsOf(id(ann)),
      rooms.membershipsOf(id(bob)),
      rooms.membershipsOf(id(cat)),
      rooms.membership(r2._id, id(bob)),
      rooms.membership(r1._id, id(bob)),
      rooms.membership(r1._id, id(ann)),
    ])
    expect(finds.length - before).toBe(1)
    const roomIds = (ms: { roomId: ObjectId }[]) => ms.map((m) => m.roomId.toHexString()).sort()
    expect(roomIds(annRooms)).toEqual([r1._id.toHexString(), r2._id.toHexString()].sort())
    expect(roomIds(bobRooms)).toEqual([r2._id.toHexString()])
    expect(catRooms).toEqual([])
    expect(bobInR2).toMatchObject({ role: 'member', userId: id(bob) })
    expect(bobInR1).toBeNull()
    expect(annInR1).toMatchObject({ role: 'owner' })
  })
})

describe('the crowd window (LOOKUP_BATCH_WINDOW_MS)', () => {
  /**
   * Lookups as they reach a node: the `first` of `ids` asked in one turn,
   * then the others one every 30 ms (a crowd's handshakes trickling in, or a
   * few sends whose memberships fell out of the cache).
   */
  async function trickle<T>(ids: readonly ObjectId[], first: number, lookup: (id: ObjectId) => Promise<T>): Promise<T[]> {
    const found = ids.slice(0, first).map(lookup)
    for (const id of ids.slice(first)) {
      await sleep(30)
      found.push(lookup(id))
    }
    return Promise.all(found)
  }

  /** Four room lookups trickling in through a database with this window: how many queries reached the server, and what each caller got. */
  async function roomQueries(lookupWindowMs: number, first: number): Promise<{ queries: number; names: (string | undefined)[] }> {
    let count = 0
    const db = await openTestDatabase((name) => name === 'find' && count++, { lookupWindowMs })
    try {
      const owner = person('w-owner')
      const made = await Promise.all(['w1', 'w2', 'w3', 'w4'].map((name) => db.repos.rooms.create({ name, visibility: 'public', owner })))
      await sleep(Math.max(lookupWindowMs, 5) + 50) // the creates' own reads are over
      count = 0
      const found = await trickle(made.map((room) => room._id), first, db.repos.rooms.get)
      return { queries: count, names: found.map((r) => r?.name) }
    } finally {
      await db.drop()
    }
  }

  it('after a query shared by several callers, the lookups of the next window (tens of ms) share the next one; each caller gets its own room', async () => {
    // 500 ms: wide enough that a slow CI machine's pauses stay inside it.
    expect(await roomQueries(500, 2)).toEqual({ queries: 2, names: ['w1', 'w2', 'w3', 'w4'] })
  })

  it('a lookup alone in its query opens no crowd window: the next, 30 ms later, goes at once', async () => {
    expect(await roomQueries(500, 1)).toEqual({ queries: 4, names: ['w1', 'w2', 'w3', 'w4'] })
  })

  it('0 keeps the busy window of a few ms for crowds too', async () => {
    expect(await roomQueries(0, 2)).toEqual({ queries: 3, names: ['w1', 'w2', 'w3', 'w4'] })
  })

  it('the users repository takes the window too (createRepositories builds it for auth; auth.test.ts checks the wiring)', async () => {
    const users = createUsersRepo(database.collections, { lookupWindowMs: 500 })
    const made = await Promise.all(['w-ann', 'w-bob', 'w-cat', 'w-dan'].map((username) => users.insert({ username, displayName: username, passwordHash: 'x' })))
    await sleep(50)
    const before = finds.length
    const found = await trickle(made.map((u) => u._id), 2, (id) => users.findById(id.toHexString()))
    expect(found.map((u) => u?.username)).toEqual(['w-ann', 'w-bob', 'w-cat', 'w-dan'])
    expect(finds.length - before).toBe(2)
  })
})
