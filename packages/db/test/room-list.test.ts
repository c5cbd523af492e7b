/**
 * The room list (`rooms.list`, fetched again on every reconnect) reads a
 * fixed number of queries plus one per room whose newest message the caller
 * does not know, and agrees with reading each room on its own.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ObjectId } from 'mongodb'
import { openTestDatabase, type TestDatabase } from './harness.ts'

let database: TestDatabase
let commands = 0
const names: string[] = []
beforeAll(async () => {
  database = await openTestDatabase((name) => {
    commands++
    names.push(name)
  })
})
afterAll(() => database.drop())

const person = (name: string) => ({ id: new ObjectId().toHexString(), username: name, displayName: name })

it("lists a user's rooms with one query per room for its newest message, the same as reading each room", async () => {
  const { rooms, messages } = database.repos
  const owner = person('list-owner')
  const me = person('list-me')
  const meId = new ObjectId(me.id)
  const room = async (name: string) => {
    const r = await rooms.create({ name, visibility: 'public', owner })
    await rooms.addMember(r, owner, 'owner')
    await rooms.addMember(r, me, 'member')
    return r
  }
  const say = async (r: { _id: ObjectId }, body: string, author = owner) =>
    (await messages.send({ roomId: r._id, author, clientId: `${r._id.toHexString()}-${body}`, body })).message
  const doc = async (id: string) => (await messages.get(new ObjectId(id)))!

  await room('empty')
  const unread = await room('unread')
  for (const body of ['one', 'two', 'three']) await say(unread, body)
  const read = await room('read')
  await rooms.markRead(read._id, meId, (await say(read, 'seen')).seq)
  const edited = await room('edited')
  await messages.edit(await doc((await say(edited, 'first draft')).id), 'final')
  const deleted = await room('deleted')
  await say(deleted, 'kept')
  await messages.remove(await doc((await say(deleted, 'oops')).id))
  const reacted = await room('reacted')
  await messages.react(await doc((await say(reacted, 'nice', me)).id), owner.id, '👍', true)
  const joined = await room('joined later')
  await say(joined, 'hello')
  await rooms.addMember(joined, person('late'), 'member')
  for (let i = 0; i < 8; i++) await say(await room(`plain ${i}`), `plain ${i}`)

  const before = commands
  const list = await rooms.listForUser(meId)
  const used = commands - before
  const n = list.length
  expect(n).toBe(15)
  // Memberships, rooms, the two reads that count (events, deleted messages), the newest message event of each room, their stored states.
  expect(used).toBe(n + 5)

  // Each item is what reading its room on its own gives.
  const memberships = await rooms.membershipsOf(meId)
  for (const item of list) {
    const r = (await rooms.get(new ObjectId(item.id)))!
    const m = memberships.find((x) => x.roomId.equals(r._id))!
    expect(item, item.name).toEqual(await rooms.listItem(r, m))
    // The seq taken from the unread count's read is the log's latest, read on its own.
    expect(item.seq, item.name).toBe((await rooms.view(r)).room.seq)
  }
  const byName = Object.fromEntries(list.map((r) => [r.name, r]))
  expect(byName['empty']).toMatchObject({ lastMessage: null, unread: 0 })
  expect(byName['unread']).toMatchObject({ unread: 3, lastMessage: { body: 'three' } })
  expect(byName['read']).toMatchObject({ unread: 0, lastMessage: { body: 'seen' } })
  expect(byName['edited']!.lastMessage).toMatchObject({ body: 'final', editedAt: expect.any(String) })
  expect(byName['deleted']!.lastMessage).toMatchObject({ deleted: true, body: '' })
  expect(byName['reacted']!.lastMessage!.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [owner.id] }])
  expect(byName['joined later']!.seq).toBe(byName['joined later']!.lastMessage!.seq + 1)
  // Newest activity first.
  expect(list.map((r) => r.lastActivityAt)).toEqual(list.map((r) => r.lastActivityAt).sort().reverse())

  // A node following the rooms knows each one's newest message as it was created (user-hub.ts):
  // no room is read for it, and the current state of all (the edit, the deletion, the reaction) is one read.
  const created = new Map(await Promise.all(list.map(async (r) => [r.id, (await messages.newestCreated(new ObjectId(r.id)))?.message ?? null] as const)))
  const beforeKnown = commands
  const told = await rooms.listForUser(meId, (roomId) => created.get(roomId))
  expect(commands - beforeKnown).toBe(5)
  expect(told).toEqual(list)
})

it('a crowd listing at once (a reconnect storm: every client refetches its list) reads each room, its newest message and its recent events once for all', async () => {
  const { rooms, messages } = database.repos
  const owner = person('crowd-owner')
  const crowd = Array.from({ length: 20 }, (_, i) => person(`crowd-${i}`))
  const shared = []
  for (let r = 0; r < 3; r++) {
    const room = await rooms.create({ name: `crowd ${r}`, visibility: 'public', owner })
    for (const p of crowd) await rooms.addMember(room, p, 'member')
    await messages.send({ roomId: room._id, author: owner, clientId: `crowd-${r}`, body: `news in ${r}` })
    shared.push(room)
  }

  names.length = 0
  const lists = await Promise.all(crowd.map((p) => rooms.listForUser(new ObjectId(p.id))))
  for (const list of lists) expect(list.map((r) => [r.name, r.lastMessage?.body])).toEqual(expect.arrayContaining([['crowd 0', 'news in 0'], ['crowd 1', 'news in 1'], ['crowd 2', 'news in 2']]))
  // The memberships of all 20, the 3 rooms, the rooms' recent events and deleted messages for all the unread
  // counts, each room's newest message event and their stored states.
  expect(names.filter((n) => n !== 'getMore')).toEqual(Array(1 + 1 + 2 + 3 + 1).fill('find'))
  // And each count is the user's own: all three news items are unread for everyone.
  for (const list of lists) expect(list.map((r) => r.unread)).toEqual([1, 1, 1])
})
