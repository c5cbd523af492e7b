import { QueryClient } from '@tanstack/vue-query'
import type { RoomListItem, UserEvent } from '@parley/schemas'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { defineComponent } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'
import { getRoomList, roomListKey } from '../lib/cache.ts'
import { toasts } from '../lib/toast.ts'
import { useTrpcSubscription } from '../lib/trpc-query.ts'
import type * as TrpcQuery from '../lib/trpc-query.ts'
import { message } from '../test/factories.ts'
import { mountComposable } from '../test/mount-composable.ts'
import { useUserEvents } from './useUserEvents.ts'

vi.mock('../lib/trpc-query.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof TrpcQuery>()),
  useTrpcSubscription: vi.fn(),
}))
const subscribed = vi.mocked(useTrpcSubscription)

const A = 'a'.repeat(24)
const B = 'b'.repeat(24)
const room = (id: string, name: string, lastActivityAt: string) =>
  ({
    id,
    name,
    seq: 5,
    unread: 0,
    lastReadSeq: 5,
    lastActivityAt,
    lastMessage: null,
  }) as unknown as RoomListItem

let unmount = () => {}
beforeEach(() => subscribed.mockClear())
afterEach(() => unmount())

/** The room list as shown, and a feed of `events.user` as the server sends it. */
function mount(rooms: RoomListItem[]) {
  const qc = new QueryClient()
  qc.setQueryData(roomListKey(), rooms)
  const page = defineComponent({ render: () => null })
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [{ path: '/', name: 'home', component: page }],
  })
  ;({ unmount } = mountComposable(() => useUserEvents(), qc, [router]))
  const handlers = subscribed.mock.calls.at(-1)?.[2] as { onData: (v: unknown) => void }
  return {
    names: () => getRoomList(qc)?.map((r) => r.name),
    rooms: () => getRoomList(qc),
    send: (event: UserEvent) => handlers.onData(event),
  }
}

it('reading a room (its read marker comes back without a message) does not move it up the room list', () => {
  const { names, send } = mount([
    room(B, 'news', '2026-01-02T00:00:00.000Z'),
    room(A, 'general', '2026-01-01T00:00:00.000Z'),
  ])
  // What rooms.markRead publishes to the reader's own streams.
  send({ type: 'room.activity', roomId: A, seq: 5, unread: 0, lastMessage: null })
  expect(names()).toEqual(['news', 'general'])

  // A new message in it does.
  const latest = message({ roomId: A, seq: 6, createdAt: '2026-01-03T00:00:00.000Z' })
  send({ type: 'room.activity', roomId: A, seq: 6, unread: 1, lastMessage: latest })
  expect(names()).toEqual(['general', 'news'])
})

it("a room's new name or topic renames it in place: it does not move up, and nothing is unread", () => {
  const { names, send, rooms } = mount([
    room(B, 'news', '2026-01-02T00:00:00.000Z'),
    room(A, 'general', '2026-01-01T00:00:00.000Z'),
  ])
  const by = message({ roomId: A }).author
  send({ type: 'room.updated', roomId: A, seq: 6, name: 'lobby', topic: 'Say hi', by })
  expect(names()).toEqual(['news', 'lobby'])
  expect(rooms()?.[1]).toMatchObject({ topic: 'Say hi', unread: 0, seq: 6 })
})

it('a room muted on another device shows muted here, in place; unmuted, it is not', () => {
  const { names, send, rooms } = mount([
    room(B, 'news', '2026-01-02T00:00:00.000Z'),
    room(A, 'general', '2026-01-01T00:00:00.000Z'),
  ])
  send({ type: 'room.muted', roomId: A, muted: true })
  expect(names()).toEqual(['news', 'general'])
  expect(rooms()?.map((r) => r.muted)).toEqual([undefined, true])
  send({ type: 'room.muted', roomId: A, muted: false })
  expect(rooms()?.[1]?.muted).toBe(false)
})

it('being added to a room by someone else says so once; joining or creating one does not', () => {
  toasts.value = []
  const { names, send } = mount([room(B, 'news', '2026-01-02T00:00:00.000Z')])
  const alice = message({ roomId: A }).author
  const added = (r: RoomListItem, by?: typeof alice) =>
    send({ type: 'room.added', room: r, ...(by && { by }) })
  added(room(A, 'general', '2026-01-03T00:00:00.000Z'), alice)
  expect(names()).toEqual(['general', 'news'])
  // The same room again (a second invite while still a member): not news.
  added(room(A, 'general', '2026-01-03T00:00:00.000Z'), alice)
  // One's own doing, here or on another device.
  added(room('d'.repeat(24), 'mine', '2026-01-05T00:00:00.000Z'))
  expect(toasts.value.map((t) => t.text)).toEqual([`${alice.displayName} added you to general`])
  toasts.value = []
})

it('a conversation opened with the user is news at its first message, not when opened', () => {
  toasts.value = []
  const { send } = mount([room(B, 'news', '2026-01-02T00:00:00.000Z')])
  const C = 'c'.repeat(24)
  const first = message({ roomId: C, seq: 3 })
  const alice = first.author
  const opened = { ...room(C, '', '2026-01-04T00:00:00.000Z'), direct: true, ownerId: alice.id }
  send({ type: 'room.added', room: opened, by: alice })
  expect(toasts.value).toEqual([])
  send({ type: 'room.activity', roomId: C, seq: 3, unread: 1, lastMessage: first })
  // Her second message is not a second start.
  send({
    type: 'room.activity',
    roomId: C,
    seq: 4,
    unread: 2,
    lastMessage: message({ roomId: C, seq: 4, author: alice }),
  })
  expect(toasts.value.map((t) => t.text)).toEqual([
    `${alice.displayName} started a conversation with you`,
  ])
  toasts.value = []
  // One she had already written in when it reached the user: news at once.
  const D = 'd'.repeat(24)
  send({
    type: 'room.added',
    room: { ...opened, id: D, lastMessage: message({ roomId: D, author: alice }) },
    by: alice,
  })
  expect(toasts.value.map((t) => t.text)).toEqual([
    `${alice.displayName} started a conversation with you`,
  ])
  toasts.value = []
})
