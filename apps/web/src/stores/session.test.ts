import 'fake-indexeddb/auto'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { reconnectTrpc } from '../lib/trpc.ts'
import { callMutation, callQuery } from '../lib/trpc-query.ts'
import type * as Trpc from '../lib/trpc.ts'
import type * as TrpcQuery from '../lib/trpc-query.ts'
import {
  closeUserDb,
  createTimelineSaver,
  dbName,
  loadOutbox,
  loadRooms,
  loadRoomCopy,
  openUserDb,
  putOutbox,
} from '../offline/db.ts'
import { loadDraft, saveDraft } from '../offline/drafts.ts'
import { rememberUser } from '../offline/remembered-user.ts'
import { keepUntilStored } from '../offline/unstored.ts'
import { message, user } from '../test/factories.ts'
import { useSessionStore } from './session.ts'

vi.mock('../lib/trpc-query.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof TrpcQuery>()),
  callQuery: vi.fn(),
  callMutation: vi.fn(),
}))
vi.mock('../lib/trpc.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof Trpc>()),
  reconnectTrpc: vi.fn(async () => {}),
}))
const me = vi.mocked(callQuery)
const mutation = vi.mocked(callMutation)

const stored = async () => (await indexedDB.databases()).map((d) => d.name)

/** A user remembered on this device, with a room saved in their database. */
async function signedInWithSavedRoom() {
  const u = user()
  rememberUser(u)
  me.mockImplementation(() => new Promise(() => {})) // the server has not answered yet
  const session = useSessionStore()
  await session.start()
  const roomId = 'a'.repeat(24)
  await createTimelineSaver()(roomId, [message({ roomId })])
  expect(await stored()).toContain(dbName(u.id))
  return { session, name: dbName(u.id) }
}

beforeEach(() => {
  setActivePinia(createPinia())
  localStorage.clear()
  vi.mocked(reconnectTrpc).mockClear()
  me.mockReset()
  mutation.mockReset()
})

describe("a session that is over takes the user's data off the device", () => {
  it('revoked (signed out everywhere): the database goes, as at sign-out', async () => {
    const { session, name } = await signedInWithSavedRoom()
    session.revoked()
    expect(session.status).toBe('signedOut')
    await vi.waitFor(async () => expect(await stored()).not.toContain(name))
  })

  it('found expired when the server answers: the database goes', async () => {
    const { session, name } = await signedInWithSavedRoom()
    me.mockResolvedValue(null as never)
    await session.verify()
    expect(session.status).toBe('signedOut')
    await vi.waitFor(async () => expect(await stored()).not.toContain(name))
  })
})

describe('a session that ended by itself with something waiting keeps it for the same user', () => {
  /** Signed in with a saved room, a message waiting in the outbox and a draft, and the server says the session is over. */
  async function endedWithAMessageWaiting() {
    const { session, name } = await signedInWithSavedRoom()
    const u = session.user!
    await putOutbox({
      kind: 'send',
      clientId: 'c1',
      roomId: 'a'.repeat(24),
      order: 1,
      createdAt: new Date().toISOString(),
      status: 'pending',
      body: 'waiting',
    })
    saveDraft(u.id, 'a'.repeat(24), 'a draft')
    // The room list a page put away left in localStorage, its IndexedDB write cut short.
    keepUntilStored(`parley:unstored:${u.id}:rooms`, [{ id: 'a'.repeat(24), name: 'kept?' }])
    me.mockResolvedValue(null as never)
    await session.verify()
    return { session, name, u }
  }

  it('the sign-in form is shown, and the outbox and draft stay on the device while the rooms go', async () => {
    const { session, name, u } = await endedWithAMessageWaiting()
    expect(session.status).toBe('signedOut')
    expect(session.kept?.id).toBe(u.id)
    expect(await stored()).toContain(name)
    await openUserDb(u.id)
    expect((await loadOutbox()).map((i) => i.clientId)).toEqual(['c1'])
    closeUserDb()
    expect(loadDraft(u.id, 'a'.repeat(24))).toBe('a draft')

    // The same user signs in: nothing was lost, and nothing of the old rooms is left.
    mutation.mockResolvedValue({ user: u } as never)
    await session.login({ username: u.username, password: 'correct horse battery' })
    expect(session.kept).toBeNull()
    expect((await loadOutbox()).map((i) => i.clientId)).toEqual(['c1'])
    expect((await loadRoomCopy('a'.repeat(24))).messages).toEqual([])
    expect(await loadRooms()).toEqual([])
    expect(loadDraft(u.id, 'a'.repeat(24))).toBe('a draft')
  })

  it('someone else signing in deletes it', async () => {
    const { session, name, u } = await endedWithAMessageWaiting()
    const other = user()
    mutation.mockResolvedValue({ user: other } as never)
    await session.login({ username: other.username, password: 'correct horse battery' })
    expect(session.kept).toBeNull()
    await vi.waitFor(async () => expect(await stored()).not.toContain(name))
    expect(loadDraft(u.id, 'a'.repeat(24))).toBe('')
  })
})

describe('a sign-out made offline', () => {
  const offline = () => Promise.reject(new TypeError('Failed to fetch'))

  it('is finished on the server before auth.me is trusted at the next start', async () => {
    const { session } = await signedInWithSavedRoom()
    mutation.mockImplementation(offline)
    await session.logout()
    expect(session.status).toBe('signedOut')

    // The next start, online: the cookie is still there and auth.me would sign the user in.
    setActivePinia(createPinia())
    const calls: string[] = []
    mutation.mockImplementation(async (path) => {
      calls.push(path)
      return { ok: true } as never
    })
    me.mockImplementation(async (path) => {
      calls.push(path)
      // Signed out on the server only once auth.logout has gone.
      return (calls.includes('auth.logout') ? null : { user: user() }) as never
    })
    const next = useSessionStore()
    await next.start()
    expect(calls).toEqual(['auth.logout', 'auth.me'])
    expect(next.status).toBe('signedOut')

    // Done: later starts just ask auth.me.
    setActivePinia(createPinia())
    calls.length = 0
    await useSessionStore().start()
    expect(calls).toEqual(['auth.me'])
  })

  it('still offline at the next start: signed out, without asking auth.me', async () => {
    const { session } = await signedInWithSavedRoom()
    mutation.mockImplementation(offline)
    await session.logout()
    setActivePinia(createPinia())
    me.mockClear()
    const next = useSessionStore()
    await next.start()
    expect(next.status).toBe('signedOut')
    expect(me).not.toHaveBeenCalled()
  })
})

describe('signing out on every device', () => {
  it('unanswered (offline, or the server down): throws, and the user and their saved rooms stay', async () => {
    const { session, name } = await signedInWithSavedRoom()
    mutation.mockImplementation(() => Promise.reject(new TypeError('Failed to fetch')))
    await expect(session.logoutEverywhere()).rejects.toThrow('Failed to fetch')
    expect(session.status).toBe('signedIn')
    expect(await stored()).toContain(name)
    expect(reconnectTrpc).not.toHaveBeenCalled()
  })

  it('answered: this device forgets the user and their database, and the socket is replaced', async () => {
    const { session, name } = await signedInWithSavedRoom()
    mutation.mockResolvedValue({ ok: true } as never)
    await session.logoutEverywhere()
    expect(mutation).toHaveBeenCalledWith('auth.logoutAll', undefined)
    expect(session.status).toBe('signedOut')
    expect(await stored()).not.toContain(name)
    expect(reconnectTrpc).toHaveBeenCalled()
  })
})
