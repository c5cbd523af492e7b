import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ObjectId } from 'mongodb'
import { createUsersRepo, INDEX, isDuplicateKey } from '../src/index.ts'
import { openTestDatabase, type TestDatabase } from './harness.ts'

let database: TestDatabase
beforeAll(async () => {
  database = await openTestDatabase()
})
afterAll(() => database.drop())

const person = (name: string) => ({ id: new ObjectId().toHexString(), username: name, displayName: name })

describe('repositories', () => {
  it('refuses a second user with the same name in any case, naming the index', async () => {
    const users = createUsersRepo(database.collections)
    await users.insert({ username: 'Ada', displayName: 'Ada', passwordHash: 'x' })
    const err = await users.insert({ username: 'ADA', displayName: 'Other', passwordHash: 'y' }).catch((e: unknown) => e)
    expect(isDuplicateKey(err, INDEX.usersUsername)).toBe(true)
    expect((await users.findByUsername('aDa'))?.displayName).toBe('Ada')
  })

  it("keeps a direct room's two people, and adds them to a direct room stored without them", async () => {
    const { rooms } = database.repos
    const [ann, ben] = [person('d-ann'), person('d-ben')]
    const { room, created } = await rooms.direct(ann, ben)
    expect(created).toBe(true)
    expect((await rooms.view(room)).room).toMatchObject({ direct: true, name: 'd-ann & d-ben', directPeople: [ann, ben] })

    // A room made before the field: asking for it again (from either side) fills it in.
    await database.db.collection('rooms').updateOne({ _id: room._id }, { $unset: { directPeople: '' } })
    expect((await rooms.view((await rooms.get(room._id))!)).room.directPeople).toBeNull()
    const again = await rooms.direct(ben, ann)
    expect(again).toMatchObject({ created: false })
    expect(again.room._id).toEqual(room._id)
    expect((await rooms.view((await rooms.get(room._id))!)).room.directPeople).toEqual([ben, ann])
  })

  it("a new display name: stored without touching the password, and in each of the user's direct rooms, beside the other person as they were", async () => {
    const { users, rooms } = database.repos
    const ann = await users.insert({ username: 'n-ann', displayName: 'Ann', passwordHash: 'hash' })
    const annAsShown = { id: ann._id.toHexString(), username: 'n-ann', displayName: 'Ann' }
    const [ben, cal] = [person('n-ben'), person('n-cal')]
    const withBen = (await rooms.direct(annAsShown, ben)).room
    const withCal = (await rooms.direct(cal, annAsShown)).room
    const notHers = (await rooms.direct(ben, cal)).room
    const group = await rooms.create({ name: 'n-group', visibility: 'public', owner: annAsShown })
    for (const [room, who] of [[withBen, annAsShown], [withBen, ben], [withCal, cal], [withCal, annAsShown], [notHers, ben], [notHers, cal], [group, annAsShown]] as const)
      await rooms.addMember(room, who, 'member')

    const stored = await users.setDisplayName(ann._id, 'Ann Lee')
    expect(stored).toMatchObject({ username: 'n-ann', displayName: 'Ann Lee', nameVersion: 1 })
    expect(stored).not.toHaveProperty('passwordHash')
    expect((await users.findByUsername('n-ann'))?.passwordHash).toBe('hash')
    const renamed = { ...annAsShown, displayName: 'Ann Lee' }
    await rooms.renameDirectPerson(renamed)
    const peopleOf = async (id: ObjectId) => (await rooms.view((await rooms.get(id))!)).room.directPeople
    expect(await peopleOf(withBen._id)).toEqual([renamed, ben])
    expect(await peopleOf(withCal._id)).toEqual([cal, renamed])
    expect(await peopleOf(notHers._id)).toEqual([ben, cal])
    expect((await rooms.view((await rooms.get(group._id))!)).room).toMatchObject({ name: 'n-group', directPeople: null })
    expect(await users.setDisplayName(new ObjectId(), 'Nobody')).toBeNull()
  })

  it('makes a repeated send return the original message', async () => {
    const { rooms, messages } = database.repos
    const owner = person('owner1')
    const room = await rooms.create({ name: 'r', visibility: 'public', owner })
    const first = await messages.send({ roomId: room._id, author: owner, clientId: 'k1', body: 'hello' })
    const again = await messages.send({ roomId: room._id, author: owner, clientId: 'k1', body: 'hello (retry)' })
    expect(first.event).not.toBeNull()
    expect(again.event).toBeNull()
    expect(again.message.id).toBe(first.message.id)
    expect(again.message.body).toBe('hello')
    // Another author may use the same clientId.
    const other = await messages.send({ roomId: room._id, author: person('other1'), clientId: 'k1', body: 'mine' })
    expect(other.event).not.toBeNull()
    expect((await messages.list(room._id, undefined, 10)).messages.map((m) => m.body)).toEqual(['hello', 'mine'])
    // A send is one write: the event. Nothing changed, so no state document.
    expect(await database.collections.messages.countDocuments({ roomId: room._id })).toBe(0)
  })

  it('gives a user\'s rooms with their unread counts, the same as the room list', async () => {
    const { rooms, messages } = database.repos
    const owner = person('unread-owner')
    const me = person('unread-me')
    const a = await rooms.create({ name: 'ua', visibility: 'public', owner })
    const b = await rooms.create({ name: 'ub', visibility: 'public', owner })
    await rooms.addMember(a, me, 'member')
    await rooms.addMember(b, me, 'member')
    for (const body of ['one', 'two', 'three']) await messages.send({ roomId: a._id, author: owner, clientId: `ua-${body}`, body })
    const read = await messages.send({ roomId: b._id, author: owner, clientId: 'ub-1', body: 'read' })
    await messages.send({ roomId: b._id, author: me, clientId: 'ub-2', body: 'mine' }) // one's own never counts
    await rooms.markRead(b._id, new ObjectId(me.id), read.message.seq)

    const memberships = await rooms.membershipsOf(new ObjectId(me.id))
    const counts = await rooms.unreadOf(new ObjectId(me.id), memberships)
    const byRoom = Object.fromEntries(memberships.map((m, i) => [m.roomId.toHexString(), counts[i]!.unread]))
    expect(byRoom).toEqual({ [a._id.toHexString()]: 3, [b._id.toHexString()]: 0 })
    const list = await rooms.listForUser(new ObjectId(me.id))
    expect(Object.fromEntries(list.map((r) => [r.id, r.unread]))).toEqual(byRoom)
  })

  it('stores a message\'s state at its first change; reads, retries and unread counts see it', async () => {
    const { rooms, messages } = database.repos
    const owner = person('changer')
    const reader = person('reader')
    const room = await rooms.create({ name: 'c', visibility: 'public', owner })
    const first = await messages.send({ roomId: room._id, author: owner, clientId: 'k-change', body: 'hello' })
    const second = await messages.send({ roomId: room._id, author: owner, clientId: 'k-other', body: 'untouched' })
    expect(await messages.get(new ObjectId(first.message.id))).toMatchObject({ seq: first.message.seq, body: 'hello', clientId: 'k-change', deleted: false })
    expect(await messages.get(new ObjectId())).toBeNull()

    await messages.edit((await messages.get(new ObjectId(first.message.id)))!, 'edited')
    await messages.react((await messages.get(new ObjectId(second.message.id)))!, reader.id, '👍', true)
    expect(await database.collections.messages.countDocuments({ roomId: room._id })).toBe(2)
    const page = (await messages.list(room._id, undefined, 10)).messages
    expect(page.map((m) => [m.body, m.editedAt !== null, m.reactions.map((r) => r.emoji)])).toEqual([
      ['edited', true, []],
      ['untouched', false, ['👍']],
    ])
    // A retried send returns the message as it is now.
    const again = await messages.send({ roomId: room._id, author: owner, clientId: 'k-change', body: 'hello' })
    expect(again.event).toBeNull()
    expect(again.message).toMatchObject({ id: first.message.id, body: 'edited' })
    expect(await database.collections.events.countDocuments({ roomId: room._id, clientId: 'k-change' })).toBe(1)

    const readerId = new ObjectId(reader.id)
    expect(await messages.unreadCount(room._id, readerId, 0)).toBe(2)
    await messages.remove((await messages.get(new ObjectId(second.message.id)))!)
    expect(await messages.unreadCount(room._id, readerId, 0)).toBe(1)
    expect(await messages.latest(room._id)).toMatchObject({ id: second.message.id, deleted: true, body: '' })
    // A message changed again keeps one state document with the newest state.
    await messages.edit((await messages.get(new ObjectId(first.message.id)))!, 'edited twice')
    expect((await messages.get(new ObjectId(first.message.id)))?.body).toBe('edited twice')
    expect(await database.collections.messages.countDocuments({ roomId: room._id })).toBe(2)
  })

  it('reads messages stored the old way (event _id unrelated to the message, a state document for each)', async () => {
    const { rooms, messages, events } = database.repos
    const author = person('legacy')
    const room = await rooms.create({ name: 'old', visibility: 'public', owner: author })
    const authorId = new ObjectId(author.id)
    const old = await events.append(room._id, {
      idempotency: { authorId, clientId: 'old-1' },
      build: (seq) => ({ type: 'message.created', roomId: room._id.toHexString(), seq, message: { id: new ObjectId().toHexString(), roomId: room._id.toHexString(), seq, author, body: 'written before', createdAt: new Date().toISOString(), editedAt: null, deleted: false, clientId: 'old-1', reactions: [] } }),
    })
    if (!old.ok || old.event.data.type !== 'message.created') throw new Error('append failed')
    const m = old.event.data.message
    expect(old.event._id.toHexString()).not.toBe(m.id)
    await database.collections.messages.insertOne({ _id: new ObjectId(m.id), roomId: room._id, seq: m.seq, authorId, author, body: m.body, clientId: m.clientId, createdAt: new Date(m.createdAt), editedAt: null, deleted: false, reactions: {}, updatedSeq: m.seq })

    expect((await messages.list(room._id, undefined, 10)).messages.map((x) => [x.id, x.body])).toEqual([[m.id, 'written before']])
    await messages.edit((await messages.get(new ObjectId(m.id)))!, 'edited later')
    expect((await messages.list(room._id, undefined, 10)).messages.map((x) => x.body)).toEqual(['edited later'])
    expect(await messages.latest(room._id)).toMatchObject({ id: m.id, body: 'edited later' })
    expect(await messages.unreadCount(room._id, new ObjectId(), 0)).toBe(1)
    expect(await database.collections.messages.countDocuments({ roomId: room._id })).toBe(1)
  })

  it('sends concurrently into one room: dense seqs, one message each', async () => {
    const { rooms, messages } = database.repos
    const owner = person('busy')
    const room = await rooms.create({ name: 'b', visibility: 'public', owner })
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => messages.send({ roomId: room._id, author: owner, clientId: `b${i % 30}`, body: `m${i}` })))
    expect(results.filter((r) => r.event).length).toBe(30)
    const history = (await messages.list(room._id, undefined, 100)).messages
    expect(history.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    expect(new Set(history.map((m) => m.clientId)).size).toBe(30)
    // Every retry of a clientId got the message its first send created.
    const byClientId = new Map(results.filter((r) => r.event).map((r) => [r.message.clientId, r.message.id]))
    for (const r of results) expect(r.message.id).toBe(byClientId.get(r.message.clientId))
  })

  it('pages history by seq and counts unread messages by others', async () => {
    const { rooms, messages } = database.repos
    const me = person('me1')
    const them = person('them1')
    const room = await rooms.create({ name: 'h', visibility: 'public', owner: me })
    const sent = []
    for (let i = 1; i <= 120; i++) sent.push(await messages.send({ roomId: room._id, author: i % 2 ? them : me, clientId: `c${i}`, body: `m${i}` }))
    const newest = await messages.list(room._id, undefined, 50)
    expect(newest.messages.map((m) => m.body)).toEqual(sent.slice(70).map((s) => s.message.body))
    expect(newest.hasMore).toBe(true)
    const oldest = await messages.list(room._id, sent[20]!.message.seq, 50)
    expect(oldest.messages.map((m) => m.body)).toEqual(sent.slice(0, 20).map((s) => s.message.body))
    expect(oldest.hasMore).toBe(false)
    expect(await messages.unreadCount(room._id, new ObjectId(me.id), sent[99]!.message.seq)).toBe(10)
    // Bounded: m101…m110, of which theirs are the five odd ones.
    expect(await messages.unreadCount(room._id, new ObjectId(me.id), sent[99]!.message.seq, sent[109]!.message.seq)).toBe(5)
    await messages.remove((await messages.get(new ObjectId(sent[118]!.message.id)))!)
    expect(await messages.unreadCount(room._id, new ObjectId(me.id), sent[99]!.message.seq)).toBe(9)
    const view = await rooms.view(room)
    expect(view.room.seq).toBe((await database.repos.events.latestSeq(room._id)))
    expect(view.lastMessage?.body).toBe('m120')
  })

  it('keeps the newest state when edits land out of order', async () => {
    const { rooms, messages } = database.repos
    const me = person('editor')
    const room = await rooms.create({ name: 'e', visibility: 'public', owner: me })
    const { message } = await messages.send({ roomId: room._id, author: me, clientId: 'e1', body: 'v0' })
    const doc = (await messages.get(new ObjectId(message.id)))!
    const edits = await Promise.all(['v1', 'v2', 'v3'].map((b) => messages.edit(doc, b)))
    const newest = edits.reduce((a, b) => (a.event.seq > b.event.seq ? a : b))
    expect((await messages.get(doc._id))?.body).toBe(newest.message.body)
  })

  it('searches page by page across messages matched as written and as edited since, each once, newest first', async () => {
    const { rooms, messages } = database.repos
    const me = person('seeker')
    const room = await rooms.create({ name: 's', visibility: 'public', owner: me })
    // Three edited into a match (more than a page of changed ones), two that matched as written, between them.
    const plan = ['old 1', 'tea as written A', 'old 2', 'tea as written B', 'old 3', 'nothing', 'tea as written C']
    const sent = []
    for (const [i, body] of plan.entries()) sent.push((await messages.send({ roomId: room._id, author: me, clientId: `s${i}`, body })).message)
    for (const m of sent.filter((m) => m.body.startsWith('old'))) await messages.edit((await messages.get(new ObjectId(m.id)))!, `tea, edited from ${m.body}`)
    await messages.edit((await messages.get(new ObjectId(sent[6]!.id)))!, 'coffee now')
    // And newest of all, more than a page that matched as written but were deleted since.
    for (const i of [1, 2, 3]) {
      const { message } = await messages.send({ roomId: room._id, author: me, clientId: `gone${i}`, body: `tea, deleted ${i}` })
      await messages.remove((await messages.get(new ObjectId(message.id)))!)
    }

    const found: string[] = []
    let before: number | undefined
    for (let pages = 0; pages < 10; pages++) {
      const page = await messages.search(room._id, 'TEA', before, 2)
      found.push(...page.messages.map((m) => m.body))
      if (page.nextBefore === null) break
      before = page.nextBefore
    }
    expect(found).toEqual(['tea, edited from old 3', 'tea as written B', 'tea, edited from old 2', 'tea as written A', 'tea, edited from old 1'])
  })
})
