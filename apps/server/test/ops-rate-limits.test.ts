/**
 * The per-user and per-IP limits on what a signed-in client may do, each set
 * from its environment variable (docs/operations.md): past the limit a call
 * gets TOO_MANY_REQUESTS and changes nothing.
 */
import { TRPCClientError } from '@trpc/client'
import type { AppRouter } from '@parley/api'
import { ObjectId } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type ApiClient, type TestServer } from './factory.ts'
import { send, twoInARoom, watchRoom } from './helpers.ts'

const code = (err: unknown) => (err instanceof TRPCClientError ? err.data?.code : String(err))

let server: TestServer
let alice: ApiClient & { user: { id: string } }
let bob: ApiClient & { user: { id: string } }
let roomId: string

beforeAll(async () => {
  server = await startTestServer({
    TYPING_MS: '1500',
    TYPING_RATE_LIMIT: '3',
    TYPING_RATE_WINDOW_MS: '60000',
    SEND_RATE_LIMIT: '4',
    SEND_RATE_WINDOW_MS: '60000',
    REACT_RATE_LIMIT: '3',
    REACT_RATE_WINDOW_MS: '60000',
    SEARCH_RATE_LIMIT: '3',
    SEARCH_RATE_WINDOW_MS: '60000',
    ROOM_ACTION_RATE_LIMIT: '4',
    ROOM_ACTION_RATE_WINDOW_MS: '60000',
    PROFILE_RATE_LIMIT: '3',
    PROFILE_RATE_WINDOW_MS: '60000',
    REGISTER_RATE_LIMIT_IP: '11',
    REGISTER_RATE_WINDOW_MS: '600000',
  })
  ;({ alice, bob, roomId } = await twoInARoom(server, 'limits'))
})
afterAll(() => server.stop())

describe('typing', () => {
  it('shows for TYPING_MS, and past TYPING_RATE_LIMIT signals a window the next is refused and not sent', async () => {
    const bobSees = watchRoom(bob, roomId)
    await bobSees.started
    for (let i = 0; i < 3; i++) expect(await alice.trpc.typing.start.mutate({ roomId })).toEqual({ ok: true, expiresInMs: 1500 })
    await bobSees.until((e) => e.filter((x) => x.type === 'typing').length === 3)
    expect(bobSees.items.find((x) => x.type === 'typing')).toMatchObject({ user: { id: alice.user.id }, expiresInMs: 1500 })

    const refused = await alice.trpc.typing.start.mutate({ roomId }).catch((e: unknown) => e)
    expect(code(refused)).toBe('TOO_MANY_REQUESTS')
    // A marker after the refused signal: when Bob has it, he would have had the signal too.
    await send(alice, roomId, 'marker')
    await bobSees.until((e) => e.some((x) => x.type === 'message.created'))
    expect(bobSees.items.filter((x) => x.type === 'typing')).toHaveLength(3)
  })
})

describe('messages', () => {
  it('edits count against SEND_RATE_LIMIT with sends: past it an edit is refused and the text stays', async () => {
    const carol = await server.signUp()
    await carol.trpc.rooms.join.mutate({ roomId })
    const first = await send(carol, roomId, 'one')
    await send(carol, roomId, 'two')
    await carol.trpc.messages.edit.mutate({ messageId: first.id, body: 'one, edited' })
    await carol.trpc.messages.edit.mutate({ messageId: first.id, body: 'one, edited twice' })
    const refused = await carol.trpc.messages.edit.mutate({ messageId: first.id, body: 'one more time' }).catch((e: unknown) => e)
    expect(code(refused)).toBe('TOO_MANY_REQUESTS')
    expect(code(await send(carol, roomId, 'three').catch((e: unknown) => e))).toBe('TOO_MANY_REQUESTS')
    const stored = (await bob.trpc.messages.list.query({ roomId })).messages.filter((m) => m.author.id === carol.user.id)
    expect(stored.map((m) => m.body)).toEqual(['one, edited twice', 'two'])
  })

  it('past REACT_RATE_LIMIT reactions a window, the next is refused and not stored', async () => {
    const dave = await server.signUp()
    await dave.trpc.rooms.join.mutate({ roomId })
    const target = await send(bob, roomId, 'react to me')
    for (const emoji of ['👍', '🎉', '❤️']) await dave.trpc.messages.react.mutate({ messageId: target.id, emoji, on: true })
    const refused = await dave.trpc.messages.react.mutate({ messageId: target.id, emoji: '😂', on: true }).catch((e: unknown) => e)
    expect(code(refused)).toBe('TOO_MANY_REQUESTS')
    const stored = (await bob.trpc.messages.list.query({ roomId })).messages.find((m) => m.id === target.id)!
    expect(stored.reactions.map((r) => r.emoji).sort()).toEqual(['❤️', '🎉', '👍'].sort())
  })
})

describe('search', () => {
  it('past SEARCH_RATE_LIMIT searches a window, the next is refused, saying when to try again', async () => {
    await send(alice, roomId, 'needle in the haystack')
    for (let i = 0; i < 3; i++) expect((await bob.trpc.messages.search.query({ roomId, query: 'needle' })).messages).toHaveLength(1)
    const refused = await bob.trpc.messages.search.query({ roomId, query: 'needle' }).catch((e: unknown) => e)
    expect(code(refused)).toBe('TOO_MANY_REQUESTS')
    expect((refused as TRPCClientError<AppRouter>).data?.retryAfterMs).toBeGreaterThan(0)
    // Per user: Alice still searches.
    expect((await alice.trpc.messages.search.query({ roomId, query: 'needle' })).messages).toHaveLength(1)
  })
})

describe('rooms', () => {
  it('creating, inviting and opening direct rooms share ROOM_ACTION_RATE_LIMIT; past it nothing is created or added', async () => {
    const erin = await server.signUp()
    const others = await Promise.all([1, 2, 3].map(() => server.signUp()))
    const own = await erin.trpc.rooms.create.mutate({ name: 'erin one', visibility: 'public' })
    await erin.trpc.rooms.create.mutate({ name: 'erin two', visibility: 'private' })
    await erin.trpc.rooms.invite.mutate({ roomId: own.id, username: others[0]!.user.username })
    await erin.trpc.rooms.direct.mutate({ username: others[1]!.user.username })
    const attempts = [
      erin.trpc.rooms.create.mutate({ name: 'erin three', visibility: 'public' }),
      erin.trpc.rooms.invite.mutate({ roomId: own.id, username: others[2]!.user.username }),
      erin.trpc.rooms.direct.mutate({ username: others[2]!.user.username }),
    ].map((p: Promise<unknown>) => p.catch((e: unknown) => e))
    for (const outcome of await Promise.all(attempts)) expect(code(outcome)).toBe('TOO_MANY_REQUESTS')
    // Her two rooms and the one direct room; nothing from the refused calls.
    expect((await erin.trpc.rooms.list.query()).map((r) => (r.direct ? 'direct' : r.name)).sort()).toEqual(['direct', 'erin one', 'erin two'])
    expect(await others[2]!.trpc.rooms.list.query()).toEqual([])
  })

  it('muting and unmuting count with them; setting it as it is does not; past the limit the room stays as it was', async () => {
    const fay = await server.signUp()
    await fay.trpc.rooms.join.mutate({ roomId }) // 1
    for (const muted of [true, false, true]) {
      expect(await fay.trpc.rooms.setMuted.mutate({ roomId, muted })).toEqual({ muted }) // 2, 3, 4
      expect(await fay.trpc.rooms.setMuted.mutate({ roomId, muted })).toEqual({ muted }) // free
    }
    expect(code(await fay.trpc.rooms.setMuted.mutate({ roomId, muted: false }).catch((e: unknown) => e))).toBe('TOO_MANY_REQUESTS')
    expect((await fay.trpc.rooms.list.query()).find((r) => r.id === roomId)?.muted).toBe(true)
  })

  it('looking up a name that does not exist counts too: names cannot be probed past the limit', async () => {
    // bob has one room change (his join) in this window.
    for (const name of ['nobody_1', 'nobody_2', 'nobody_3']) {
      expect(code(await bob.trpc.rooms.invite.mutate({ roomId, username: name }).catch((e: unknown) => e))).toBe('NOT_FOUND')
    }
    expect(code(await bob.trpc.rooms.invite.mutate({ roomId, username: 'nobody_4' }).catch((e: unknown) => e))).toBe('TOO_MANY_REQUESTS')
    expect(code(await bob.trpc.rooms.direct.mutate({ username: 'nobody_5' }).catch((e: unknown) => e))).toBe('TOO_MANY_REQUESTS')
  })

  it('joining and leaving count too: past the limit the join is refused, and the room and its log are unchanged', async () => {
    const frank = await server.signUp()
    const { id: roomId } = await alice.trpc.rooms.create.mutate({ name: 'revolving door', visibility: 'public' })
    for (let i = 0; i < 2; i++) {
      await frank.trpc.rooms.join.mutate({ roomId })
      await frank.trpc.rooms.join.mutate({ roomId }) // already in: nothing changes, nothing counts
      await frank.trpc.rooms.leave.mutate({ roomId })
    }
    const logged = await server.database.collections.events.countDocuments({ roomId: new ObjectId(roomId) })
    const refused = await frank.trpc.rooms.join.mutate({ roomId }).catch((e: unknown) => e)
    expect(code(refused)).toBe('TOO_MANY_REQUESTS')
    expect((refused as Error).message).toMatch(/^Too many room changes \(retry in \d+ s\)$/)
    expect((await alice.trpc.rooms.get.query({ roomId })).memberCount).toBe(1)
    expect(await server.database.collections.events.countDocuments({ roomId: new ObjectId(roomId) })).toBe(logged)
    expect(await frank.trpc.rooms.list.query()).toEqual([])
  })

  it('a room saved as it was does not count: only a real change of name or topic does', async () => {
    const gina = await server.signUp()
    const { id: roomId } = await gina.trpc.rooms.create.mutate({ name: 'steady', visibility: 'public' })
    for (let i = 0; i < 6; i++) {
      const same = await gina.trpc.rooms.update.mutate({ roomId, name: 'steady', topic: '' })
      expect(same).toMatchObject({ name: 'steady', topic: null })
    }
    // With the creation, three renames fill the window; the fourth is refused and changes nothing.
    for (const name of ['steady 2', 'steady 3', 'steady 4']) await gina.trpc.rooms.update.mutate({ roomId, name })
    const refused = await gina.trpc.rooms.update.mutate({ roomId, name: 'steady 5' }).catch((e: unknown) => e)
    expect(code(refused)).toBe('TOO_MANY_REQUESTS')
    expect((await gina.trpc.rooms.get.query({ roomId })).name).toBe('steady 4')
  })
})

describe('profile', () => {
  it('past PROFILE_RATE_LIMIT name changes a window the next is refused and the name stays; saving the name as it is does not count', async () => {
    // Alice: the sign-ups this file may make from its one address are spoken for.
    const name = async () => (await alice.trpc.auth.me.query())?.user.displayName
    for (const n of ['Alice 1', 'Alice 2', 'Alice 3']) {
      await alice.trpc.auth.updateProfile.mutate({ displayName: n })
      // The same again, twice: answered, not counted.
      for (let i = 0; i < 2; i++) expect((await alice.trpc.auth.updateProfile.mutate({ displayName: ` ${n} ` })).user.displayName).toBe(n)
    }
    const refused = await alice.trpc.auth.updateProfile.mutate({ displayName: 'Alice 4' }).catch((e: unknown) => e)
    expect(code(refused)).toBe('TOO_MANY_REQUESTS')
    expect(await name()).toBe('Alice 3')
  })
})

describe('sign-up', () => {
  it('past REGISTER_RATE_LIMIT_IP sign-ups from one address a window, the next is refused and creates no account', async () => {
    // alice, bob, carol, dave, erin, erin's three others, fay, frank and gina: 11, the window is full.
    const c = server.client()
    const username = `late_${Date.now()}`
    const refused = await c.trpc.auth.register.mutate({ username, password: 'correct horse battery' }).catch((e: unknown) => e)
    expect(code(refused)).toBe('TOO_MANY_REQUESTS')
    // The form shows the server's message: a window of minutes is told in minutes.
    expect((refused as Error).message).toMatch(/^Too many sign-ups from this address \(retry in \d+ min\)$/)
    expect(await server.database.collections.users.countDocuments({ username })).toBe(0)
  })
})

