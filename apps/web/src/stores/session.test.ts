import 'fake-indexeddb/auto'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { reconnectTrpc } from '../lib/trpc.ts'
import { callQuery } from '../lib/trpc-query.ts'
import type * as Trpc from '../lib/trpc.ts'
import type * as TrpcQuery from '../lib/trpc-query.ts'
import { createTimelineSaver, dbName } from '../offline/db.ts'
import { rememberUser } from '../offline/remembered-user.ts'
import { message, user } from '../test/factories.ts'
import { useSessionStore } from './session.ts'

vi.mock('../lib/trpc-query.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof TrpcQuery>()),
  callQuery: vi.fn(),
}))
vi.mock('../lib/trpc.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof Trpc>()),
  reconnectTrpc: vi.fn(async () => {}),
}))
const me = vi.mocked(callQuery)

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
