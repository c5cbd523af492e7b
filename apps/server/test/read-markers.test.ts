/**
 * Read markers: every reader of a busy room sends them (the PWA: for the room
 * on screen, over its socket), so a marker at the newest message the node has
 * delivered costs one MongoDB round trip, the write. Behind it, the unread
 * count still comes back; past the end of the log, the marker stops there.
 */
import { createTRPCClient, wsLink } from '@trpc/client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { AppRouter } from '@parley/api'
import { startTestServer, type TestServer } from './factory.ts'
import { scrapeMetric, send, twoInARoom, watchRoom } from './helpers.ts'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.stop())

const mongoRoundTrips = () => scrapeMetric(server.url, 'parley_mongodb_operation_seconds_count')

it('a marker at the newest message delivered is one MongoDB round trip; behind it the count comes back', async () => {
  const { alice, bob, roomId } = await twoInARoom(server, 'markers')
  const watch = watchRoom(bob, roomId)
  await watch.started
  const sent = []
  for (const body of ['one', 'two', 'three']) sent.push(await send(alice, roomId, body))
  await watch.until((items) => items.filter((e) => e.type === 'message.created').length === 3)
  const [first, , last] = sent.map((m) => m.seq)
  // Bob's markers go over the socket his room stream is on, as the PWA sends them.
  const overSocket = createTRPCClient<AppRouter>({ links: [wsLink({ client: bob.ws })] })
  const unreadOnServer = async () => (await bob.trpc.rooms.list.query()).find((r) => r.id === roomId)?.unread

  // Behind the newest message: two of Alice's are still unread.
  expect(await overSocket.rooms.markRead.mutate({ roomId, seq: first! })).toEqual({ lastReadSeq: first, unread: 2 })
  expect(await unreadOnServer()).toBe(2)

  const before = await mongoRoundTrips()
  for (let i = 0; i < 5; i++) expect(await overSocket.rooms.markRead.mutate({ roomId, seq: last! })).toEqual({ lastReadSeq: last, unread: 0 })
  const used = (await mongoRoundTrips()) - before
  // One write each (a bus resync may read the room's end once meanwhile).
  expect(used).toBeGreaterThanOrEqual(5)
  expect(used).toBeLessThanOrEqual(6)
  expect(await unreadOnServer()).toBe(0)

  // Past the end of the log, the marker stops at its end; Alice's next message is unread.
  expect(await overSocket.rooms.markRead.mutate({ roomId, seq: last! + 100 })).toEqual({ lastReadSeq: last, unread: 0 })
  await send(alice, roomId, 'four')
  expect(await unreadOnServer()).toBe(1)
  watch.stop()
})
