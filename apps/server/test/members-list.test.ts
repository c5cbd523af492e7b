/**
 * rooms.members in a room bigger than MEMBERS_LIST_MAX: the list is cut, but
 * never the people who run the room.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './factory.ts'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ MEMBERS_LIST_MAX: '3' })
})
afterAll(() => server.stop())

it('past MEMBERS_LIST_MAX still lists the owner and an admin who joined last', async () => {
  const owner = await server.signUp()
  const { id: roomId } = await owner.trpc.rooms.create.mutate({ name: 'big room', visibility: 'public' })
  const joiners = []
  for (let i = 0; i < 4; i++) {
    const user = await server.signUp()
    await user.trpc.rooms.join.mutate({ roomId })
    joiners.push(user)
  }
  const newestAdmin = joiners[3]!
  await owner.trpc.rooms.setRole.mutate({ roomId, userId: newestAdmin.user.id, role: 'admin' })

  const list = await joiners[0]!.trpc.rooms.members.query({ roomId })
  expect(list).toHaveLength(3)
  expect(list.slice(0, 2).map((m) => [m.user.id, m.role])).toEqual([
    [owner.user.id, 'owner'],
    [newestAdmin.user.id, 'admin'],
  ])
  expect(list[2]!.role).toBe('member')
  expect((await owner.trpc.rooms.get.query({ roomId })).memberCount).toBe(5)
})
