/**
 * The per-user and per-IP limits on what a signed-in client may do, each set
 * from its environment variable (docs/operations.md): past the limit a call
 * gets TOO_MANY_REQUESTS and changes nothing.
 */
import { TRPCClientError } from '@trpc/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type ApiClient, type TestServer } from './factory.ts'
import { watchRoom } from './helpers.ts'

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
  })
  alice = await server.signUp()
  bob = await server.signUp()
  roomId = (await alice.trpc.rooms.create.mutate({ name: 'limits', visibility: 'public' })).id
  await bob.trpc.rooms.join.mutate({ roomId })
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
    await alice.trpc.messages.send.mutate({ roomId, body: 'marker', clientId: crypto.randomUUID() })
    await bobSees.until((e) => e.some((x) => x.type === 'message.created'))
    expect(bobSees.items.filter((x) => x.type === 'typing')).toHaveLength(3)
  })
})
