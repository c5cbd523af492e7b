/**
 * rooms.setMuted: a member mutes a room for themselves. Each of their devices
 * hears it (events.user) and their room list says so; nobody else's changes,
 * and the server counts unread as before (the PWA decides what is news). Bad
 * input, and anyone not in the room, change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TRPCClientError } from '@trpc/client'
import { startTestServer, type ApiClient, type TestServer } from './factory.ts'
import { send, twoInARoom, watchUser } from './helpers.ts'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server?.stop())

const code = (err: unknown) => (err instanceof TRPCClientError ? err.data?.code : String(err))
const listed = async (client: ApiClient, roomId: string) =>
  (await client.trpc.rooms.list.query()).find((r) => r.id === roomId)

describe('rooms.setMuted', () => {
  it("mutes a room for the member alone, on each of their devices; unread still counts, and unmuting undoes it", async () => {
    const { alice, bob, roomId } = await twoInARoom(server, 'muted for bob')
    const bobsPhone = server.client()
    await bobsPhone.trpc.auth.login.mutate({ username: bob.user.username, password: 'correct horse battery' })
    const phoneHears = watchUser(bobsPhone)
    await phoneHears.started

    expect(await bob.trpc.rooms.setMuted.mutate({ roomId, muted: true })).toEqual({ muted: true })
    await phoneHears.until((e) => e.some((x) => x.type === 'room.muted'))
    expect(phoneHears.items.filter((x) => x.type === 'room.muted')).toEqual([{ type: 'room.muted', roomId, muted: true }])
    expect(await listed(bobsPhone, roomId)).toMatchObject({ muted: true, unread: 0 })
    expect(await listed(alice, roomId)).toMatchObject({ muted: false })

    await send(alice, roomId, 'still counted')
    expect(await listed(bob, roomId)).toMatchObject({ muted: true, unread: 1 })

    expect(await bob.trpc.rooms.setMuted.mutate({ roomId, muted: false })).toEqual({ muted: false })
    await phoneHears.until((e) => e.filter((x) => x.type === 'room.muted').length === 2)
    expect(phoneHears.items.filter((x) => x.type === 'room.muted').at(-1)).toEqual({ type: 'room.muted', roomId, muted: false })
    expect(await listed(bob, roomId)).toMatchObject({ muted: false, unread: 1 })
    phoneHears.stop()
  })

  it('refuses bad input and anyone not in the room, and changes nothing', async () => {
    const { alice, roomId } = await twoInARoom(server, 'mute refusals')
    const secret = await alice.trpc.rooms.create.mutate({ name: 'mute secret', visibility: 'private' })
    const outsider = await server.signUp()
    const tries: [ApiClient, unknown, string][] = [
      [alice, { roomId, muted: 'yes' }, 'BAD_REQUEST'],
      [alice, { roomId }, 'BAD_REQUEST'],
      [alice, { roomId, muted: true, everyone: true }, 'BAD_REQUEST'],
      [alice, { roomId: 'not-an-id', muted: true }, 'BAD_REQUEST'],
      [outsider, { roomId, muted: true }, 'FORBIDDEN'],
      [outsider, { roomId: secret.id, muted: true }, 'NOT_FOUND'],
    ]
    for (const [who, input, expected] of tries) {
      const refused = await who.trpc.rooms.setMuted.mutate(input as never).catch((e: unknown) => e)
      expect([input, code(refused)]).toEqual([input, expected])
    }
    expect(await listed(alice, roomId)).toMatchObject({ muted: false })
    expect(await listed(alice, secret.id)).toMatchObject({ muted: false })
    expect(await outsider.trpc.rooms.list.query()).toEqual([])
  })
})
