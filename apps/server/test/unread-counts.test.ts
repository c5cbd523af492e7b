/**
 * Unread counts stop at UNREAD_COUNT_LIMIT: a member back from a long absence
 * costs the server a window of the room's events, not its whole backlog, and
 * is told "at least the limit" (the app shows 99+ from 100). Below the limit
 * every count is exact.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { UserEvent } from '@parley/schemas'
import { startTestServer, type TestServer } from './factory.ts'
import { send, twoInARoom, watchUser } from './helpers.ts'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ UNREAD_COUNT_LIMIT: '100' })
})
afterAll(() => server.stop())

it('a backlog past the limit counts as at least the limit in the room list, the live count and markRead; below it, exactly', { timeout: 30_000 }, async () => {
  const { alice, bob, roomId } = await twoInARoom(server, 'backlog')
  const seqs: number[] = []
  for (let i = 0; i < 350; i += 50) {
    const sent = await Promise.all(Array.from({ length: 50 }, (_, k) => send(alice, roomId, `while Bob was away ${i + k}`)))
    seqs.push(...sent.map((m) => m.seq))
  }
  seqs.sort((a, b) => a - b)

  const listed = (await bob.trpc.rooms.list.query()).find((r) => r.id === roomId)!
  expect(listed.unread).toBeGreaterThanOrEqual(100)
  expect(listed.unread).toBeLessThan(350)

  // Bob's app opens: his live count starts where the list's did and adds what comes next.
  const user = watchUser(bob)
  await user.started
  await send(alice, roomId, 'one more')
  const activity = (items: UserEvent[]) => items.filter((e): e is Extract<UserEvent, { type: 'room.activity' }> => e.type === 'room.activity' && e.roomId === roomId)
  const [live] = activity(await user.until((items) => activity(items).length > 0))
  expect(live!.unread).toBeGreaterThan(100)
  expect(live!.unread).toBeLessThanOrEqual(351)

  // Read a little: still at least the limit. Read most: exact (50 of the backlog, and one more).
  const early = await bob.trpc.rooms.markRead.mutate({ roomId, seq: seqs[9]! })
  expect(early.unread).toBeGreaterThanOrEqual(100)
  expect(early.unread).toBeLessThan(341)
  expect(await bob.trpc.rooms.markRead.mutate({ roomId, seq: seqs[299]! })).toEqual({ lastReadSeq: seqs[299], unread: 51 })
  expect((await bob.trpc.rooms.list.query()).find((r) => r.id === roomId)!.unread).toBe(51)
  user.stop()
})
