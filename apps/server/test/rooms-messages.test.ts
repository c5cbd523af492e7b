import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TRPCClientError } from '@trpc/client'
import { z } from 'zod'
import { LIMITS } from '@parley/schemas'
import { startTestServer, type TestServer } from './factory.ts'
import { routerProcedures, send, watchRoom, watchUser } from './helpers.ts'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.stop())

/**
 * The router's procedures whose input has one of these fields, sorted: a new
 * room procedure must join the lists that use this. An input whose fields
 * cannot be read (not a plain object) fails here rather than be passed over.
 */
function proceduresNaming(fields: string[]): string[] {
  return routerProcedures()
    .filter(([path, procedure]) => procedure._def.inputs.some((input) => {
      // An object, or one with a default for when it is left out (rooms.browse).
      const object = input instanceof z.ZodDefault ? input.unwrap() : input
      if (!(object instanceof z.ZodObject)) throw new Error(`${path}: its input is not an object whose fields can be read`)
      return fields.some((field) => field in object.shape)
    }))
    .map(([path]) => path)
    .sort()
}

const code = (err: unknown) => (err instanceof TRPCClientError ? err.data?.code : String(err))

describe('two people in a room', () => {
  it('see each other’s messages, edits, deletions, reactions and typing live', async () => {
    const alice = await server.signUp()
    const bob = await server.signUp()
    const room = await alice.trpc.rooms.create.mutate({ name: 'general', visibility: 'public' })
    await bob.trpc.rooms.join.mutate({ roomId: room.id })

    const aliceSees = watchRoom(alice, room.id)
    const bobSees = watchRoom(bob, room.id)
    await Promise.all([aliceSees.started, bobSees.started])

    const hello = await send(alice, room.id, 'hello **bob**')
    const hi = await send(bob, room.id, 'hi alice')
    await bobSees.until((e) => e.some((x) => x.type === 'message.created' && x.message.id === hi.id))
    expect(bobSees.items.find((x) => x.type === 'message.created' && x.message.id === hello.id)).toMatchObject({ message: { body: 'hello **bob**', author: { id: alice.user.id } } })

    await alice.trpc.messages.edit.mutate({ messageId: hello.id, body: 'hello bob (edited)' })
    await bob.trpc.messages.react.mutate({ messageId: hello.id, emoji: '👍', on: true })
    await bob.trpc.messages.delete.mutate({ messageId: hi.id })
    await bob.trpc.typing.start.mutate({ roomId: room.id })

    await aliceSees.until((e) => e.some((x) => x.type === 'typing'))
    const types = aliceSees.items.map((x) => x.type)
    expect(types).toEqual(['message.created', 'message.created', 'message.updated', 'reaction', 'message.deleted', 'typing'])
    expect(aliceSees.items[2]).toMatchObject({ message: { body: 'hello bob (edited)', editedAt: expect.any(String) } })
    expect(aliceSees.items[3]).toMatchObject({ emoji: '👍', on: true, userId: bob.user.id, reactions: [{ emoji: '👍', count: 1 }] })
    expect(aliceSees.items[4]).toMatchObject({ message: { id: hi.id, deleted: true, body: '' } })
    expect(aliceSees.items[5]).toMatchObject({ type: 'typing', user: { id: bob.user.id } })
    // The typist does not see their own typing.
    await new Promise((r) => setTimeout(r, 100))
    expect(bobSees.items.some((x) => x.type === 'typing')).toBe(false)

    const history = await bob.trpc.messages.list.query({ roomId: room.id })
    expect(history.messages.map((m) => [m.body, m.deleted])).toEqual([
      ['hello bob (edited)', false],
      ['', true],
    ])
    expect(history.messages[0]!.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [bob.user.id] }])
    aliceSees.stop()
    bobSees.stop()
  })

  it('takes at most LIMITS.reactionsPerMessageMax different emoji on a message; the ones on it can still be added to', async () => {
    const owner = await server.signUp()
    const friend = await server.signUp()
    const room = await owner.trpc.rooms.create.mutate({ name: 'reactions', visibility: 'public' })
    await friend.trpc.rooms.join.mutate({ roomId: room.id })
    const msg = await send(owner, room.id, 'react away')
    const emojis = Array.from({ length: LIMITS.reactionsPerMessageMax }, (_, i) => `:e${i}:`)
    for (const emoji of emojis) await owner.trpc.messages.react.mutate({ messageId: msg.id, emoji, on: true })
    const refused = await friend.trpc.messages.react.mutate({ messageId: msg.id, emoji: ':one-too-many:', on: true }).catch((e: unknown) => e)
    expect(code(refused)).toBe('BAD_REQUEST')
    expect((refused as Error).message).toBe(`A message can have at most ${LIMITS.reactionsPerMessageMax} different reactions`)
    expect(await friend.trpc.messages.react.mutate({ messageId: msg.id, emoji: ':e0:', on: true })).toEqual({ changed: true })
    // Taking one off makes room for another.
    await owner.trpc.messages.react.mutate({ messageId: msg.id, emoji: ':e1:', on: false })
    expect(await friend.trpc.messages.react.mutate({ messageId: msg.id, emoji: ':one-too-many:', on: true })).toEqual({ changed: true })
    const [stored] = (await owner.trpc.messages.list.query({ roomId: room.id })).messages.filter((m) => m.id === msg.id)
    expect(stored!.reactions.map((r) => r.emoji).sort()).toEqual([...emojis.filter((e) => e !== ':e1:'), ':one-too-many:'].sort())
    expect(stored!.reactions.find((r) => r.emoji === ':e0:')!.count).toBe(2)
  })

  it('hides a private room from a non-member everywhere', async () => {
    const owner = await server.signUp()
    const outsider = await server.signUp()
    const room = await owner.trpc.rooms.create.mutate({ name: 'secret', visibility: 'private' })
    const msg = await send(owner, room.id, 'classified')
    const other = await server.signUp()
    await owner.trpc.rooms.invite.mutate({ roomId: room.id, username: other.user.username })
    // One call per procedure that names a room or a message (checked against the router below).
    const attempts: Record<string, () => Promise<unknown>> = {
      'rooms.get': () => outsider.trpc.rooms.get.query({ roomId: room.id }),
      'rooms.join': () => outsider.trpc.rooms.join.mutate({ roomId: room.id }),
      'rooms.leave': () => outsider.trpc.rooms.leave.mutate({ roomId: room.id }),
      'rooms.members': () => outsider.trpc.rooms.members.query({ roomId: room.id }),
      'rooms.markRead': () => outsider.trpc.rooms.markRead.mutate({ roomId: room.id, seq: 1 }),
      'rooms.invite': () => outsider.trpc.rooms.invite.mutate({ roomId: room.id, username: outsider.user.username }),
      'rooms.kick': () => outsider.trpc.rooms.kick.mutate({ roomId: room.id, userId: other.user.id }),
      'rooms.setRole': () => outsider.trpc.rooms.setRole.mutate({ roomId: room.id, userId: other.user.id, role: 'admin' }),
      'rooms.setMuted': () => outsider.trpc.rooms.setMuted.mutate({ roomId: room.id, muted: true }),
      'rooms.update': () =>
        outsider.trpc.rooms.update.mutate({ roomId: room.id, name: 'found you' }),
      'messages.list': () => outsider.trpc.messages.list.query({ roomId: room.id }),
      'messages.search': () => outsider.trpc.messages.search.query({ roomId: room.id, query: 'classified' }),
      'messages.send': () => send(outsider, room.id, 'let me in'),
      'messages.edit': () => outsider.trpc.messages.edit.mutate({ messageId: msg.id, body: 'x' }),
      'messages.delete': () => outsider.trpc.messages.delete.mutate({ messageId: msg.id }),
      'messages.react': () => outsider.trpc.messages.react.mutate({ messageId: msg.id, emoji: '👍', on: true }),
      'typing.start': () => outsider.trpc.typing.start.mutate({ roomId: room.id }),
      'events.room': () => watchRoom(outsider, room.id).until(() => false, 5000),
    }
    expect(Object.keys(attempts).sort()).toEqual(proceduresNaming(['roomId', 'messageId']))
    const outcomes = await Promise.all(Object.entries(attempts).map(async ([path, attempt]) => [path, code(await attempt().catch((e: unknown) => e))]))
    expect(Object.fromEntries(outcomes)).toEqual(Object.fromEntries(Object.keys(attempts).map((path) => [path, 'NOT_FOUND'])))
    const browse = await outsider.trpc.rooms.browse.query({ query: 'secret' })
    expect(browse.rooms.find((r) => r.id === room.id)).toBeUndefined()
    expect((await owner.trpc.messages.list.query({ roomId: room.id })).messages).toMatchObject([{ body: 'classified', reactions: [] }])
    expect((await owner.trpc.rooms.members.query({ roomId: room.id })).map((m) => [m.user.username, m.role])).toEqual([
      [owner.user.username, 'owner'],
      [other.user.username, 'member'],
    ])
  })

  it('lets an owner invite into a private room, and the invitee chat there', async () => {
    const owner = await server.signUp()
    const guest = await server.signUp()
    const room = await owner.trpc.rooms.create.mutate({ name: 'team', visibility: 'private' })
    const guestEvents = watchUser(guest)
    await guestEvents.started
    await owner.trpc.rooms.invite.mutate({ roomId: room.id, username: guest.user.username })
    await guestEvents.until((e) => e.some((x) => x.type === 'room.added' && x.room.id === room.id))
    await send(guest, room.id, 'thanks for the invite')
    const members = await owner.trpc.rooms.members.query({ roomId: room.id })
    expect(members.map((m) => [m.user.username, m.role])).toEqual([
      [owner.user.username, 'owner'],
      [guest.user.username, 'member'],
    ])
    // A member (not admin) cannot invite into a private room.
    const third = await server.signUp()
    expect(code(await guest.trpc.rooms.invite.mutate({ roomId: room.id, username: third.user.username }).catch((e: unknown) => e))).toBe('FORBIDDEN')
    guestEvents.stop()
  })

  it('moderates: admins kick members, members cannot, the kicked lose access', async () => {
    const owner = await server.signUp()
    const admin = await server.signUp()
    const member = await server.signUp()
    const room = await owner.trpc.rooms.create.mutate({ name: 'modded', visibility: 'public' })
    await admin.trpc.rooms.join.mutate({ roomId: room.id })
    await member.trpc.rooms.join.mutate({ roomId: room.id })
    await owner.trpc.rooms.setRole.mutate({ roomId: room.id, userId: admin.user.id, role: 'admin' })
    const byMember = await member.trpc.rooms.kick.mutate({ roomId: room.id, userId: admin.user.id }).catch((e: unknown) => e)
    expect([code(byMember), (byMember as Error).message]).toEqual(['FORBIDDEN', "Only the room's owner or an admin can do that"])
    expect(code(await admin.trpc.rooms.kick.mutate({ roomId: room.id, userId: owner.user.id }).catch((e: unknown) => e))).toBe('FORBIDDEN')
    const self = await owner.trpc.rooms.kick.mutate({ roomId: room.id, userId: owner.user.id }).catch((e: unknown) => e)
    expect([code(self), (self as Error).message]).toEqual(['BAD_REQUEST', "You can't remove yourself: leave the room instead"])
    const kicked = watchRoom(member, room.id)
    await kicked.started
    await admin.trpc.rooms.kick.mutate({ roomId: room.id, userId: member.user.id })
    await kicked.until((e) => e.some((x) => x.type === 'member.left' && x.userId === member.user.id))
    expect(code(await send(member, room.id, 'still here?').catch((e: unknown) => e))).toBe('FORBIDDEN')
    expect(code(await member.trpc.rooms.markRead.mutate({ roomId: room.id, seq: 1 }).catch((e: unknown) => e))).toBe('FORBIDDEN')
    expect((await member.trpc.rooms.list.query()).find((r) => r.id === room.id)).toBeUndefined()
    // Only the author may edit, but moderators may delete.
    const m = await send(owner, room.id, 'owner speaks')
    expect(code(await admin.trpc.messages.edit.mutate({ messageId: m.id, body: 'no' }).catch((e: unknown) => e))).toBe('FORBIDDEN')
    await admin.trpc.messages.delete.mutate({ messageId: m.id })
  })

  it('an owner who leaves hands the room to its longest-standing admin, else member', async () => {
    const owner = await server.signUp()
    const early = await server.signUp()
    const admin = await server.signUp()
    const room = await owner.trpc.rooms.create.mutate({ name: 'handover', visibility: 'public' })
    await early.trpc.rooms.join.mutate({ roomId: room.id })
    await admin.trpc.rooms.join.mutate({ roomId: room.id })
    await owner.trpc.rooms.setRole.mutate({ roomId: room.id, userId: admin.user.id, role: 'admin' })
    const roles = async (as: typeof owner) => Object.fromEntries((await as.trpc.rooms.members.query({ roomId: room.id })).map((m) => [m.user.id, m.role]))

    await owner.trpc.rooms.leave.mutate({ roomId: room.id })
    expect(await roles(early)).toEqual({ [admin.user.id]: 'owner', [early.user.id]: 'member' })
    expect((await early.trpc.rooms.get.query({ roomId: room.id })).ownerId).toBe(admin.user.id)
    // The new owner can moderate at once.
    await admin.trpc.rooms.setRole.mutate({ roomId: room.id, userId: early.user.id, role: 'admin' })
    await admin.trpc.rooms.setRole.mutate({ roomId: room.id, userId: early.user.id, role: 'member' })

    await admin.trpc.rooms.leave.mutate({ roomId: room.id })
    expect(await roles(early)).toEqual({ [early.user.id]: 'owner' })
    await early.trpc.rooms.leave.mutate({ roomId: room.id }) // the last one out: nobody to hand it to
    expect((await early.trpc.rooms.get.query({ roomId: room.id })).memberCount).toBe(0)

    // Whoever comes in next owns it, so it is never left with nobody to moderate it; the one after is a member.
    const next = await server.signUp()
    const after = await server.signUp()
    const joined = await next.trpc.rooms.join.mutate({ roomId: room.id })
    expect([joined.role, joined.ownerId]).toEqual(['owner', next.user.id])
    const second = await after.trpc.rooms.join.mutate({ roomId: room.id })
    expect([second.role, second.ownerId]).toEqual(['member', next.user.id])
    expect(await roles(after)).toEqual({ [next.user.id]: 'owner', [after.user.id]: 'member' })
    expect((await next.trpc.rooms.update.mutate({ roomId: room.id, topic: 'under new management' })).topic).toBe('under new management')
  })

  it('a room its owner left empty goes to one of two who join it at once; a private one to an invitee who comes back', async () => {
    const owner = await server.signUp()
    const room = await owner.trpc.rooms.create.mutate({ name: 'empty hall', visibility: 'public' })
    await owner.trpc.rooms.leave.mutate({ roomId: room.id })
    const pair = [await server.signUp(), await server.signUp()]
    const items = await Promise.all(pair.map((c) => c.trpc.rooms.join.mutate({ roomId: room.id })))
    expect(items.map((i) => i.role).sort()).toEqual(['member', 'owner'])
    const members = await pair[0]!.trpc.rooms.members.query({ roomId: room.id })
    expect(members.filter((m) => m.role === 'owner').map((m) => m.user.id)).toEqual([items.find((i) => i.role === 'owner')!.ownerId])

    const host = await server.signUp()
    const guest = await server.signUp()
    const closed = await host.trpc.rooms.create.mutate({ name: 'empty study', visibility: 'private' })
    await host.trpc.rooms.invite.mutate({ roomId: closed.id, username: guest.user.username })
    await guest.trpc.rooms.leave.mutate({ roomId: closed.id })
    await host.trpc.rooms.leave.mutate({ roomId: closed.id })
    const back = await guest.trpc.rooms.join.mutate({ roomId: closed.id }) // leaving kept the invite
    expect([back.role, back.ownerId]).toEqual(['owner', guest.user.id])
  })

  it('a member kicked from a private room cannot join it again until invited again', async () => {
    const owner = await server.signUp()
    const guest = await server.signUp()
    const room = await owner.trpc.rooms.create.mutate({ name: 'closed door', visibility: 'private' })
    await owner.trpc.rooms.invite.mutate({ roomId: room.id, username: guest.user.username })
    await guest.trpc.rooms.leave.mutate({ roomId: room.id })
    await guest.trpc.rooms.join.mutate({ roomId: room.id }) // leaving keeps the invite: back in
    await owner.trpc.rooms.kick.mutate({ roomId: room.id, userId: guest.user.id })
    expect(code(await guest.trpc.rooms.join.mutate({ roomId: room.id }).catch((e: unknown) => e))).toBe('NOT_FOUND')
    expect(code(await guest.trpc.rooms.get.query({ roomId: room.id }).catch((e: unknown) => e))).toBe('NOT_FOUND')
    expect((await owner.trpc.rooms.members.query({ roomId: room.id })).map((m) => m.user.id)).toEqual([owner.user.id])
    // A new invite lets them back.
    await owner.trpc.rooms.invite.mutate({ roomId: room.id, username: guest.user.username })
    expect((await guest.trpc.rooms.list.query()).map((r) => r.id)).toContain(room.id)
  })

  it('room.added says who added you: an invite or a direct conversation names them; a room you created or joined names nobody', async () => {
    const owner = await server.signUp()
    const guest = await server.signUp()
    const ownerEvents = watchUser(owner)
    const guestEvents = watchUser(guest)
    await Promise.all([ownerEvents.started, guestEvents.started])
    const added = async (events: typeof guestEvents, roomId: string) => {
      await events.until((e) => e.some((x) => x.type === 'room.added' && x.room.id === roomId))
      const event = events.items.find((x) => x.type === 'room.added' && x.room.id === roomId)
      return event && 'by' in event ? event.by : 'nobody'
    }
    const open = await owner.trpc.rooms.create.mutate({ name: 'open door', visibility: 'public' })
    expect(await added(ownerEvents, open.id)).toBe('nobody')
    await guest.trpc.rooms.join.mutate({ roomId: open.id })
    expect(await added(guestEvents, open.id)).toBe('nobody')

    const closed = await owner.trpc.rooms.create.mutate({ name: 'by invitation', visibility: 'private' })
    await owner.trpc.rooms.invite.mutate({ roomId: closed.id, username: guest.user.username })
    expect(await added(guestEvents, closed.id)).toEqual(owner.user)

    const direct = await owner.trpc.rooms.direct.mutate({ username: guest.user.username })
    expect(await added(guestEvents, direct.id)).toEqual(owner.user)
    expect(await added(ownerEvents, direct.id)).toBe('nobody')
    ownerEvents.stop()
    guestEvents.stop()
  })

  it('creates one direct room per pair, whoever asks', async () => {
    const a = await server.signUp()
    const b = await server.signUp()
    const r1 = await a.trpc.rooms.direct.mutate({ username: b.user.username })
    const r2 = await b.trpc.rooms.direct.mutate({ username: a.user.username })
    const again = await Promise.all([1, 2, 3].map(() => a.trpc.rooms.direct.mutate({ username: b.user.username })))
    expect(new Set([r1.id, r2.id, ...again.map((r) => r.id)]).size).toBe(1)
    expect(r1).toMatchObject({ direct: true, visibility: 'private', memberCount: 2, directPeople: [a.user, b.user] })
    // Two people, no ranks: whoever started it cannot remove or promote the other.
    expect(code(await a.trpc.rooms.kick.mutate({ roomId: r1.id, userId: b.user.id }).catch((e: unknown) => e))).toBe('BAD_REQUEST')
    expect(code(await a.trpc.rooms.setRole.mutate({ roomId: r1.id, userId: b.user.id, role: 'admin' }).catch((e: unknown) => e))).toBe('BAD_REQUEST')
    expect((await b.trpc.rooms.list.query()).map((r) => r.id)).toContain(r1.id)
    // Nor delete their messages: each deletes only their own, and both are plain members.
    const fromB = await send(b, r1.id, 'mine to keep')
    expect(code(await a.trpc.messages.delete.mutate({ messageId: fromB.id }).catch((e: unknown) => e))).toBe('FORBIDDEN')
    expect((await a.trpc.messages.list.query({ roomId: r1.id })).messages.map((m) => [m.body, m.deleted])).toEqual([['mine to keep', false]])
    expect((await a.trpc.rooms.members.query({ roomId: r1.id })).map((m) => m.role)).toEqual(['member', 'member'])
    expect(code(await a.trpc.rooms.direct.mutate({ username: 'nobody-here' }).catch((e: unknown) => e))).toBe('NOT_FOUND')
    const withSelf = await a.trpc.rooms.direct.mutate({ username: a.user.username }).catch((e: unknown) => e)
    expect([code(withSelf), (withSelf as Error).message]).toEqual(['BAD_REQUEST', "You can't start a direct conversation with yourself"])
  })

  it('browses and searches public rooms page by page', async () => {
    const u = await server.signUp()
    const tag = `zebra${Date.now()}`
    for (let i = 0; i < 5; i++) await u.trpc.rooms.create.mutate({ name: `${tag} ${i}`, visibility: 'public' })
    const first = await u.trpc.rooms.browse.query({ query: tag.toUpperCase(), limit: 3 })
    expect(first.rooms).toHaveLength(3)
    const second = await u.trpc.rooms.browse.query({ query: tag, cursor: first.nextCursor, limit: 3 })
    expect(second.rooms).toHaveLength(2)
    expect(second.nextCursor).toBeNull()
    expect(new Set([...first.rooms, ...second.rooms].map((r) => r.name)).size).toBe(5)
    // Regex characters are searched literally.
    expect((await u.trpc.rooms.browse.query({ query: '.*' })).rooms).toHaveLength(0)
  })

  it('counts unread messages, clears them with markRead and announces both on events.user', async () => {
    const reader = await server.signUp()
    const writer = await server.signUp()
    const room = await writer.trpc.rooms.create.mutate({ name: 'news', visibility: 'public' })
    await reader.trpc.rooms.join.mutate({ roomId: room.id })
    const signals = watchUser(reader)
    await signals.started
    for (const body of ['one', 'two', 'three']) await send(writer, room.id, body)
    await signals.until((e) => e.some((x) => x.type === 'room.activity' && x.unread === 3))
    const listed = (await reader.trpc.rooms.list.query()).find((r) => r.id === room.id)!
    expect(listed.unread).toBe(3)
    expect(listed.lastMessage?.body).toBe('three')
    await reader.trpc.rooms.markRead.mutate({ roomId: room.id, seq: listed.seq })
    await signals.until((e) => e.some((x) => x.type === 'room.activity' && x.unread === 0))
    expect((await reader.trpc.rooms.list.query()).find((r) => r.id === room.id)!.unread).toBe(0)
    signals.stop()
  })

  it('gives every tab of a user the same unread counts; a tab closing leaves the others, a new one carries on from the current count', async () => {
    const reader = await server.signUp()
    const writer = await server.signUp()
    const room = await writer.trpc.rooms.create.mutate({ name: 'tabs', visibility: 'public' })
    await reader.trpc.rooms.join.mutate({ roomId: room.id })
    const tab1 = watchUser(reader)
    const tab2 = watchUser(reader)
    await Promise.all([tab1.started, tab2.started])
    const activity = (tab: typeof tab1, unread: number, body: string) =>
      tab.until((e) => e.some((x) => x.type === 'room.activity' && x.unread === unread && x.lastMessage?.body === body))
    // `started` comes before the user's rooms are followed: send until both tabs hear one.
    let n = 0
    const live = async (tab: typeof tab1) => (await tab.until((e) => e.some((x) => x.type === 'room.activity'), 300).then(() => true).catch(() => false))
    while (!(await live(tab1)) || !(await live(tab2))) await send(writer, room.id, `warm-up ${++n}`)
    const warm = await send(writer, room.id, 'warm')
    await reader.trpc.rooms.markRead.mutate({ roomId: room.id, seq: warm.seq })
    await Promise.all([tab1, tab2].map((tab) => tab.until((e) => e.some((x) => x.type === 'room.activity' && x.unread === 0))))

    await send(writer, room.id, 'one')
    await Promise.all([activity(tab1, 1, 'one'), activity(tab2, 1, 'one')])
    tab1.stop()
    await send(writer, room.id, 'two')
    await activity(tab2, 2, 'two')
    const tab3 = watchUser(reader)
    await tab3.started
    await send(writer, room.id, 'three')
    await Promise.all([activity(tab2, 3, 'three'), activity(tab3, 3, 'three')])
    expect((await reader.trpc.rooms.list.query()).find((r) => r.id === room.id)!.unread).toBe(3)
    tab2.stop()
    tab3.stop()
  })

  it('makes a send idempotent: five concurrent retries yield one message and one event', async () => {
    const u = await server.signUp()
    const room = await u.trpc.rooms.create.mutate({ name: 'idem', visibility: 'public' })
    const sub = watchRoom(u, room.id)
    await sub.started
    const results = await Promise.all(Array.from({ length: 5 }, () => send(u, room.id, 'once', 'same-client-id')))
    expect(new Set(results.map((m) => m.id)).size).toBe(1)
    await send(u, room.id, 'marker')
    await sub.until((e) => e.some((x) => x.type === 'message.created' && x.message.body === 'marker'))
    expect(sub.items.filter((x) => x.type === 'message.created' && x.message.body === 'once')).toHaveLength(1)
    expect((await u.trpc.messages.list.query({ roomId: room.id })).messages.map((m) => m.body)).toEqual(['once', 'marker'])
    sub.stop()
  })

  it('pages history by seq', async () => {
    const u = await server.signUp()
    const room = await u.trpc.rooms.create.mutate({ name: 'long', visibility: 'public' })
    for (let i = 1; i <= 12; i++) await send(u, room.id, `m${i}`)
    const last = await u.trpc.messages.list.query({ roomId: room.id, limit: 5 })
    expect(last.messages.map((m) => m.body)).toEqual(['m8', 'm9', 'm10', 'm11', 'm12'])
    expect(last.hasMore).toBe(true)
    const older = await u.trpc.messages.list.query({ roomId: room.id, limit: 10, before: last.messages[0]!.seq })
    expect(older.messages.map((m) => m.body)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'])
    expect(older.hasMore).toBe(false)
  })

  it('rate-limits senders with a retry hint', async () => {
    const limited = await startTestServer({ SEND_RATE_LIMIT: '3', SEND_RATE_WINDOW_MS: '60000' })
    try {
      const u = await limited.signUp()
      const room = await u.trpc.rooms.create.mutate({ name: 'fast', visibility: 'public' })
      const sent = [] as Awaited<ReturnType<typeof send>>[]
      for (let i = 0; i < 3; i++) sent.push(await send(u, room.id, `m${i}`))
      const err = await send(u, room.id, 'too many').catch((e: unknown) => e)
      expect(code(err)).toBe('TOO_MANY_REQUESTS')
      expect((err as TRPCClientError<never>).data).toMatchObject({ retryAfterMs: expect.any(Number) })
      // A resend of a stored message (its answer lost) is still answered with the original, over the limit too.
      expect(await send(u, room.id, 'm0', sent[0]!.clientId)).toEqual(sent[0])
      expect((await u.trpc.messages.list.query({ roomId: room.id })).messages).toHaveLength(3)
    } finally {
      await limited.stop()
    }
  })
})

describe('presence', () => {
  it('reaches the people who share a room with you, and no longer once you have left it', async () => {
    const [alice, bob, carol, dave, erin] = await Promise.all([server.signUp(), server.signUp(), server.signUp(), server.signUp(), server.signUp()])
    const shared = await alice.trpc.rooms.create.mutate({ name: 'shared', visibility: 'public' })
    const side = await alice.trpc.rooms.create.mutate({ name: 'side', visibility: 'public' })
    const back = await erin.trpc.rooms.create.mutate({ name: 'back', visibility: 'public' })
    await bob.trpc.rooms.join.mutate({ roomId: shared.id }) // alice + bob
    await carol.trpc.rooms.join.mutate({ roomId: side.id }) // alice + carol + dave
    await dave.trpc.rooms.join.mutate({ roomId: side.id })
    await bob.trpc.rooms.join.mutate({ roomId: back.id }) // erin + bob
    const saw = (items: { type: string }[], who: { user: { id: string } }, status: 'online' | 'offline') =>
      items.some((x) => x.type === 'presence' && 'userId' in x && x.userId === who.user.id && 'status' in x && x.status === status)

    const aliceSees = watchUser(alice)
    const carolSees = watchUser(carol)
    const erinSees = watchUser(erin)
    await Promise.all([aliceSees.started, carolSees.started, erinSees.started])

    // Bob comes online: alice and erin share a room with him, carol does not.
    const bobStream = watchUser(bob)
    await bobStream.started
    await aliceSees.until((e) => saw(e, bob, 'online'))
    await erinSees.until((e) => saw(e, bob, 'online'))
    const daveStream = watchUser(dave)
    await daveStream.started
    await carolSees.until((e) => saw(e, dave, 'online')) // announced after bob's
    expect(saw(carolSees.items, bob, 'online')).toBe(false)

    // Bob leaves the room he shared with alice, then goes offline: erin hears it, alice does not.
    await bob.trpc.rooms.leave.mutate({ roomId: shared.id })
    bobStream.stop()
    await erinSees.until((e) => saw(e, bob, 'offline'))
    daveStream.stop()
    await aliceSees.until((e) => saw(e, dave, 'offline')) // announced after bob's
    expect(saw(aliceSees.items, bob, 'offline')).toBe(false)

    for (const s of [aliceSees, carolSees, erinSees]) {
      expect(s.errors).toEqual([])
      s.stop()
    }
  })

  it('travels only through rooms of at most PRESENCE_ROOM_MAX_MEMBERS; a bigger room’s member list still says who is online', async () => {
    const small = await startTestServer({ PRESENCE_ROOM_MAX_MEMBERS: '2' })
    try {
      const [alice, bob, carol] = await Promise.all([small.signUp(), small.signUp(), small.signUp()])
      const pair = await alice.trpc.rooms.create.mutate({ name: 'pair', visibility: 'public' })
      const trio = await alice.trpc.rooms.create.mutate({ name: 'trio', visibility: 'public' })
      await bob.trpc.rooms.join.mutate({ roomId: pair.id }) // alice + bob: 2
      await bob.trpc.rooms.join.mutate({ roomId: trio.id }) // alice + bob + carol: 3
      await carol.trpc.rooms.join.mutate({ roomId: trio.id })
      const saw = (items: { type: string }[], who: { user: { id: string } }, status: string) =>
        items.some((x) => x.type === 'presence' && 'userId' in x && x.userId === who.user.id && 'status' in x && x.status === status)

      const aliceSees = watchUser(alice)
      await aliceSees.started
      const carolStream = watchUser(carol) // shares only the trio with alice
      await carolStream.started
      await new Promise((r) => setTimeout(r, 200))
      const bobStream = watchUser(bob) // shares the pair
      await bobStream.started
      await aliceSees.until((e) => saw(e, bob, 'online')) // after carol's, had it been sent
      expect(saw(aliceSees.items, carol, 'online')).toBe(false)
      const members = await alice.trpc.rooms.members.query({ roomId: trio.id })
      expect(members.filter((m) => m.online).map((m) => m.user.id).sort()).toEqual([alice.user.id, bob.user.id, carol.user.id].sort())
      for (const s of [aliceSees, carolStream, bobStream]) s.stop()
    } finally {
      await small.stop()
    }
  })
})
