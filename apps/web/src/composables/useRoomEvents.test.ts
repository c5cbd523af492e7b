import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Member, RoomListItem, RoomStreamEvent } from '@parley/schemas'
import { getRoomList, getTimeline, membersKey, roomListKey, timelineKey } from '../lib/cache.ts'
import type { Timeline } from '../lib/timeline.ts'
import { subscribe } from '../lib/trpc-query.ts'
import type * as TrpcQuery from '../lib/trpc-query.ts'
import {
  createTimelineSaver,
  deleteUserDb,
  getLastSeq,
  loadRoomCopy,
  openUserDb,
} from '../offline/db.ts'
import { created, message } from '../test/factories.ts'
import { mountComposable } from '../test/mount-composable.ts'
import { useRoomEvents } from './useRoomEvents.ts'

vi.mock('../lib/trpc-query.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof TrpcQuery>()),
  subscribe: vi.fn(() => () => {}),
}))
const subscribed = vi.mocked(subscribe)

const USER = 'f'.repeat(24)
const ROOM = '9'.repeat(24)

const mount = () => mountComposable(() => useRoomEvents({ roomId: ROOM }))

/** Feeds the room's stream as the server would. */
async function stream(): Promise<(event: RoomStreamEvent) => void> {
  await vi.waitFor(() => expect(subscribed).toHaveBeenCalled())
  const handlers = subscribed.mock.calls.at(-1)?.[2] as { onData: (v: unknown) => void }
  return (event) => handlers.onData(event)
}

const seqs = (t: Timeline | undefined) => t?.messages.map((m) => m.seq)

beforeEach(async () => {
  subscribed.mockClear()
  await openUserDb(USER)
})
afterEach(async () => {
  await deleteUserDb(USER)
})

describe('a reset of the room log (a reset store: seqs start again under a new epoch)', () => {
  it('replaces the timeline outright and clears the room saved on the device', async () => {
    const old = [60, 61, 90].map((seq) => message({ roomId: ROOM, seq, body: `old ${seq}` }))
    await createTimelineSaver()(ROOM, old)
    const { qc, unmount } = mount()
    qc.setQueryData<Timeline>(timelineKey(ROOM), { messages: old, hasMore: true })
    const send = await stream()

    send({ type: 'reset', roomId: ROOM, seq: 12, epoch: 'epoch-2' })
    // The new log's seq 13 arrives live while the fresh page is on its way.
    send(created(message({ roomId: ROOM, seq: 13, body: 'new 13' })))
    expect(seqs(getTimeline(qc, ROOM))).toEqual([13])
    expect(getTimeline(qc, ROOM)?.fromCache).toBe(true)

    await vi.waitFor(async () => expect(await getLastSeq(ROOM)).toBeGreaterThanOrEqual(12))
    expect((await loadRoomCopy(ROOM)).messages).toEqual([])
    unmount()
  })
})

describe("the room's name and topic", () => {
  it('change in the room list (where the header reads them) as its room.updated arrives', async () => {
    const { qc, unmount } = mount()
    const listed = { id: ROOM, name: 'general', topic: null, seq: 4, unread: 0 }
    qc.setQueryData(roomListKey(), [listed as unknown as RoomListItem])
    const send = await stream()
    const by = message({ roomId: ROOM }).author
    send({ type: 'room.updated', roomId: ROOM, seq: 5, name: 'lobby', topic: 'Say hi', by })
    expect(getRoomList(qc)?.[0]).toMatchObject({ name: 'lobby', topic: 'Say hi', seq: 5 })
    // Cleared, later.
    send({ type: 'room.updated', roomId: ROOM, seq: 7, name: 'lobby', topic: null, by })
    expect(getRoomList(qc)?.[0]).toMatchObject({ name: 'lobby', topic: null, seq: 7 })
    unmount()
  })
})

describe('the member list', () => {
  it('keeps an offline member offline when their join comes again (a resume replays it); a new member shows online', async () => {
    const { qc, unmount } = mount()
    const bob = { ...message({ roomId: ROOM }).author, id: 'b'.repeat(24), username: 'bob' }
    qc.setQueryData<Member[]>(membersKey(ROOM), [{ user: bob, role: 'member', online: false }])
    const send = await stream()
    send({ type: 'member.joined', roomId: ROOM, seq: 3, member: { user: bob, role: 'member' } })
    expect(qc.getQueryData<Member[]>(membersKey(ROOM))).toEqual([
      { user: bob, role: 'member', online: false },
    ])
    const cara = { ...bob, id: 'c'.repeat(24), username: 'cara' }
    send({ type: 'member.joined', roomId: ROOM, seq: 4, member: { user: cara, role: 'member' } })
    expect(
      qc.getQueryData<Member[]>(membersKey(ROOM))?.map((m) => [m.user.username, m.online]),
    ).toEqual([
      ['bob', false],
      ['cara', true],
    ])
    unmount()
  })
})
