import { afterAll, beforeAll, expect, it } from 'vitest'
import { ObjectId } from 'mongodb'
import { openTestDatabase, type TestDatabase } from './harness.ts'

let database: TestDatabase
const commands: string[] = []
beforeAll(async () => {
  database = await openTestDatabase((name) => commands.push(name))
})
afterAll(() => database.drop())

const person = (name: string) => ({ id: new ObjectId().toHexString(), username: name, displayName: name })

it('counts what a member of 105 rooms has not read in two queries per 100 rooms, the same as the room list', { timeout: 60_000 }, async () => {
  const { rooms, messages } = database.repos
  const owner = person('many-owner')
  const me = person('many-me')
  const expected = new Map<string, number>()
  for (let i = 0; i < 105; i++) {
    const room = await rooms.create({ name: `many-${i}`, visibility: 'public', owner })
    await rooms.addMember(room, me, 'member')
    const theirs = []
    for (let k = 0; k < i % 4; k++) theirs.push((await messages.send({ roomId: room._id, author: owner, clientId: `t${i}-${k}`, body: 'theirs' })).message)
    await messages.send({ roomId: room._id, author: me, clientId: `m${i}`, body: 'mine' }) // one's own never counts
    let unread = theirs.length
    if (i % 5 === 0 && theirs.length > 0) {
      await messages.remove((await messages.get(new ObjectId(theirs.at(-1)!.id)))!) // deleted ones do not count
      unread--
    }
    if (i % 7 === 0 && theirs.length > 0) {
      await rooms.markRead(room._id, new ObjectId(me.id), theirs[0]!.seq) // read the first
      unread = theirs.slice(1).filter((m, k) => !(i % 5 === 0 && k === theirs.length - 2)).length
    }
    expected.set(room._id.toHexString(), unread)
  }

  commands.length = 0
  const memberships = await rooms.membershipsOf(new ObjectId(me.id))
  const counts = await rooms.unreadOf(new ObjectId(me.id), memberships)
  expect(new Map(memberships.map((m, i) => [m.roomId.toHexString(), counts[i]!.unread]))).toEqual(expected)
  // The memberships (and a getMore: a first batch is 101 documents), then the events and the deleted messages of rooms 1–100 and 101–105.
  expect(commands.filter((c) => c !== 'getMore')).toEqual(['find', 'find', 'find', 'find', 'find'])

  const list = await rooms.listForUser(new ObjectId(me.id))
  expect(new Map(list.map((r) => [r.id, r.unread]))).toEqual(expected)
  expect([...expected.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(100)
})

it('counts each room up to its own bound, and nothing for rooms with no messages', async () => {
  const { rooms, messages } = database.repos
  const owner = person('bound-owner')
  const me = new ObjectId()
  const a = await rooms.create({ name: 'bound-a', visibility: 'public', owner })
  const b = await rooms.create({ name: 'bound-b', visibility: 'public', owner })
  const empty = await rooms.create({ name: 'bound-empty', visibility: 'public', owner })
  const inA = []
  for (let k = 0; k < 6; k++) inA.push((await messages.send({ roomId: a._id, author: owner, clientId: `a${k}`, body: 'x' })).message.seq)
  const inB = []
  for (let k = 0; k < 4; k++) inB.push((await messages.send({ roomId: b._id, author: owner, clientId: `b${k}`, body: 'x' })).message.seq)
  const counts = await messages.unreadCounts(me, [
    { roomId: a._id, afterSeq: inA[1]!, throughSeq: inA[4]! },
    { roomId: b._id, afterSeq: 0 },
    { roomId: empty._id, afterSeq: 0 },
  ])
  // Each count says the seq it is as of: the bound, the room's newest event, or (nothing there) where it started.
  expect(counts).toEqual([
    { unread: 3, through: inA[4] },
    { unread: 4, through: inB[3] },
    { unread: 0, through: 0 },
  ])
  expect(await messages.unreadCounts(me, [])).toEqual([])
})

it('a read marker at the end of the log is one write; short of it, the count comes back', async () => {
  const { rooms, messages, events } = database.repos
  const owner = person('marker-owner')
  const me = person('marker-me')
  const meId = new ObjectId(me.id)
  const room = await rooms.create({ name: 'marker', visibility: 'public', owner })
  await rooms.addMember(room, me, 'member')
  const seqs = []
  for (let k = 0; k < 3; k++) seqs.push((await messages.send({ roomId: room._id, author: owner, clientId: `mk${k}`, body: 'x' })).message.seq)
  const latest = await events.latestSeq(room._id)

  commands.length = 0
  expect(await rooms.markRead(room._id, meId, seqs[0]!, latest)).toEqual({ lastReadSeq: seqs[0], unread: 2 })
  expect(commands).toEqual(['findAndModify', 'find', 'find'])

  commands.length = 0
  expect(await rooms.markRead(room._id, meId, latest, latest)).toEqual({ lastReadSeq: latest, unread: 0 })
  expect(commands).toEqual(['findAndModify'])
  // The room list agrees, and an older marker (a stale tab) leaves it read.
  expect(await rooms.markRead(room._id, meId, seqs[1]!, latest)).toEqual({ lastReadSeq: latest, unread: 0 })
  expect((await rooms.listForUser(meId)).map((r) => r.unread)).toEqual([0])
})

it('stops counting at the limit, reading a window of twice the limit: exact below it, at least the limit past it', async () => {
  const limited = await openTestDatabase((name) => commands.push(name), { unreadCountLimit: 5 })
  try {
    const { rooms, messages } = limited.repos
    const owner = person('limit-owner')
    const me = person('limit-me')
    const meId = new ObjectId(me.id)
    const send = (roomId: ObjectId, author: typeof owner, k: number) => messages.send({ roomId, author, clientId: `l${k}`, body: 'x' })
    // A long absence: 30 messages by someone else.
    const away = await rooms.create({ name: 'limit-away', visibility: 'public', owner })
    await rooms.addMember(away, me, 'member')
    const awaySeqs = []
    for (let k = 0; k < 30; k++) awaySeqs.push((await send(away._id, owner, k)).message.seq)
    // Few by others among many of one's own (from another device): windows run on until the log ends.
    const talky = await rooms.create({ name: 'limit-talky', visibility: 'public', owner })
    const theirs = []
    for (let k = 0; k < 44; k++) {
      const sent = await send(talky._id, k % 11 === 0 ? owner : me, k)
      if (k % 11 === 0) theirs.push(sent.message)
    }
    await messages.remove((await messages.get(new ObjectId(theirs[3]!.id)))!) // deleted, three windows in
    const [a, b] = [away, talky].map((room) => ({ roomId: room._id, afterSeq: 0 }))

    commands.length = 0
    const [awayCount, talkyCount] = await messages.unreadCounts(meId, [a!, b!])
    // Both rooms shared the first window's two queries; the talky room took four more windows alone.
    expect(commands.filter((c) => c === 'find')).toHaveLength(10)
    // The backlog was read one window of ten events far, not to its end.
    expect(awayCount!.unread).toBeGreaterThanOrEqual(5)
    expect(awayCount!.unread).toBeLessThanOrEqual(10)
    expect(awayCount!.through).toBeLessThan(awaySeqs.at(-1)!)
    expect(talkyCount).toEqual({ unread: 3, through: await limited.repos.events.latestSeq(talky._id) })

    // A read marker behind the window is counted the same way, and the room list agrees.
    const marked = await rooms.markRead(away._id, meId, awaySeqs[2]!, awaySeqs.at(-1))
    expect(marked!.unread).toBeGreaterThanOrEqual(5)
    expect(marked!.unread).toBeLessThanOrEqual(10)
    expect(await rooms.markRead(away._id, meId, awaySeqs[26]!, awaySeqs.at(-1))).toEqual({ lastReadSeq: awaySeqs[26], unread: 3 })
    expect((await rooms.listForUser(meId)).find((r) => r.id === away._id.toHexString())!.unread).toBe(3)
  } finally {
    await limited.drop()
  }
})

it('members asking at once share two queries, each counted from their own marker, without their own messages', async () => {
  const { rooms, messages } = database.repos
  const ann = person('share-ann')
  const bob = person('share-bob')
  const cy = person('share-cy')
  const room = await rooms.create({ name: 'share', visibility: 'public', owner: ann })
  const other = await rooms.create({ name: 'share-other', visibility: 'public', owner: ann })
  const seqs = []
  for (let k = 0; k < 12; k++) seqs.push((await messages.send({ roomId: room._id, author: k % 3 === 0 ? bob : ann, clientId: `s${k}`, body: 'x' })).message)
  await messages.remove((await messages.get(new ObjectId(seqs[10]!.id)))!) // Ann's, deleted
  const elsewhere = (await messages.send({ roomId: other._id, author: ann, clientId: 'o1', body: 'x' })).message
  const asks = [
    { who: ann, ranges: [{ roomId: room._id, afterSeq: 0 }] }, // Bob's 4 (seqs 0, 3, 6, 9)
    { who: bob, ranges: [{ roomId: room._id, afterSeq: seqs[5]!.seq }, { roomId: other._id, afterSeq: 0 }] }, // Ann's 7, 8, 11 (10 deleted); 1 elsewhere
    { who: cy, ranges: [{ roomId: room._id, afterSeq: seqs[8]!.seq, throughSeq: seqs[10]!.seq }] }, // Bob's 9 (Ann's 10 deleted)
    { who: cy, ranges: [{ roomId: other._id, afterSeq: elsewhere.seq }] }, // nothing after it
  ]
  const alone = []
  for (const a of asks) alone.push(await messages.unreadCounts(new ObjectId(a.who.id), a.ranges))

  commands.length = 0
  const together = await Promise.all(asks.map((a) => messages.unreadCounts(new ObjectId(a.who.id), a.ranges)))
  expect(commands.filter((c) => c !== 'getMore')).toEqual(['find', 'find'])
  expect(together).toEqual(alone)
  expect(together.map((counts) => counts.map((c) => c.unread))).toEqual([[4], [3, 1], [1], [0]])
  expect(together[2]![0]!.through).toBe(seqs[10]!.seq)
  expect(together[3]![0]!.through).toBe(elsewhere.seq)
})

it("a room's events once counted are not read again: the next counts read what was written since, exact, a seq still missing included once written", async () => {
  const { rooms, messages, events } = database.repos
  const owner = person('kept-owner')
  const ann = new ObjectId()
  const bob = new ObjectId()
  const room = await rooms.create({ name: 'kept', visibility: 'public', owner })
  const send = (k: number) => messages.send({ roomId: room._id, author: owner, clientId: `kept${k}`, body: 'x' })
  const sent = []
  for (let k = 0; k < 300; k++) sent.push((await send(k)).message)
  // Documents that reads of the `events` collection returned (first batches and getMores).
  let read = 0
  const fromEvents = new Set<number>()
  const onStart = (e: { commandName: string; command: Record<string, unknown>; requestId: number }) => {
    if ((e.commandName === 'find' && e.command.find === 'events') || (e.commandName === 'getMore' && e.command.collection === 'events')) fromEvents.add(e.requestId)
  }
  const onReply = (e: { reply: unknown; requestId: number }) => {
    if (!fromEvents.delete(e.requestId)) return
    const { cursor } = e.reply as { cursor: { firstBatch?: unknown[]; nextBatch?: unknown[] } }
    read += (cursor.firstBatch ?? cursor.nextBatch ?? []).length
  }
  database.client.on('commandStarted', onStart)
  database.client.on('commandSucceeded', onReply)
  try {
    const [first] = await messages.unreadCounts(ann, [{ roomId: room._id, afterSeq: 0 }])
    expect(first).toEqual({ unread: 300, through: sent.at(-1)!.seq })
    expect(read).toBeGreaterThanOrEqual(300)

    // Since then: three more, and one of the first ones deleted.
    for (let k = 300; k < 303; k++) sent.push((await send(k)).message)
    await messages.remove((await messages.get(new ObjectId(sent[10]!.id)))!)
    const removedAt = await events.latestSeq(room._id)
    read = 0
    const [second] = await messages.unreadCounts(bob, [{ roomId: room._id, afterSeq: 0 }])
    expect(second).toEqual({ unread: 302, through: removedAt })
    expect(read).toBe(4) // the three messages and the deletion's event

    // Another node's append shows seq n + 2 before n + 1 is written: counted when it is, not skipped.
    const [template] = await database.collections.events.find({ _id: new ObjectId(sent[0]!.id) }).toArray()
    const at = (seq: number, authorId: ObjectId, k: string) => database.collections.events.insertOne({ ...template!, _id: new ObjectId(), seq, authorId, clientId: k })
    await at(removedAt + 2, template!.authorId!, 'late-2')
    expect((await messages.unreadCounts(ann, [{ roomId: room._id, afterSeq: 0 }]))[0]).toEqual({ unread: 303, through: removedAt + 2 })
    await at(removedAt + 1, bob, 'late-1') // Bob's own: not unread for him
    expect((await messages.unreadCounts(bob, [{ roomId: room._id, afterSeq: 0 }]))[0]).toEqual({ unread: 303, through: removedAt + 2 })
    expect((await messages.unreadCounts(ann, [{ roomId: room._id, afterSeq: 0 }]))[0]).toEqual({ unread: 304, through: removedAt + 2 })
  } finally {
    database.client.off('commandStarted', onStart)
    database.client.off('commandSucceeded', onReply)
  }
})
