import { QueryClient } from '@tanstack/vue-query'
import { TRPCClientError } from '@trpc/client'
import type { RoomListItem } from '@parley/schemas'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick, ref } from 'vue'
import { getRoomList, roomListKey } from '../lib/cache.ts'
import { forgetReadMarkers, resendReadMarkers } from '../lib/read-markers.ts'
import { callMutation } from '../lib/trpc-query.ts'
import type * as TrpcQuery from '../lib/trpc-query.ts'
import { mountComposable } from '../test/mount-composable.ts'
import { MARK_READ_EVERY_MS, useMarkRead } from './useMarkRead.ts'

vi.mock('../lib/trpc-query.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof TrpcQuery>()),
  callMutation: vi.fn(async () => ({})),
}))
const markRead = vi.mocked(callMutation)

const A = 'a'.repeat(24)
const B = 'b'.repeat(24)
const room = (id: string, over: Partial<RoomListItem> = {}) =>
  ({
    id,
    name: id.slice(0, 3),
    unread: 0,
    lastReadSeq: 1,
    seq: 1,
    lastActivityAt: '2026-01-01T00:00:00.000Z',
    ...over,
  }) as RoomListItem

function mount(initial: { roomId: string; seq: number }, online = ref(true)) {
  const qc = new QueryClient()
  qc.setQueryData(roomListKey(), [room(A), room(B)])
  const roomId = ref(initial.roomId)
  const seq = ref<number | null>(initial.seq)
  const { unmount } = mountComposable(() => useMarkRead(roomId, seq, online), qc)
  return { qc, roomId, seq, online, unmount }
}

const calls = () => markRead.mock.calls.map(([, input]) => input as { roomId: string; seq: number })

beforeEach(() => {
  vi.useFakeTimers()
  markRead.mockClear()
  forgetReadMarkers()
  // The middle of the wait's random spread, unless a test says otherwise.
  vi.spyOn(Math, 'random').mockReturnValue(0.5)
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('useMarkRead', () => {
  it('marks the open room read locally at once and on the server after a short wait', async () => {
    const { qc, unmount } = mount({ roomId: A, seq: 5 })
    expect(getRoomList(qc)![0]).toMatchObject({
      unread: 0,
      lastReadSeq: 5,
    })
    expect(markRead).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(MARK_READ_EVERY_MS)
    expect(calls()).toEqual([{ roomId: A, seq: 5 }])
    unmount()
  })

  it('in a busy room, sends a marker every 5 s, not one per message (throttle, not debounce)', async () => {
    // Four messages a second for 12 s: the server hears of the reader twice, with the newest seq each time.
    const { seq, unmount } = mount({ roomId: A, seq: 1 })
    for (let s = 2; s <= 49; s++) {
      seq.value = s
      await nextTick()
      await vi.advanceTimersByTimeAsync(250)
    }
    expect(calls().map((c) => c.seq)).toEqual([21, 41])
    unmount()
  })

  it('readers of the same message send their markers spread over a few seconds, not in one instant', async () => {
    vi.mocked(Math.random).mockReturnValueOnce(0).mockReturnValueOnce(0.999)
    const first = mount({ roomId: A, seq: 3 })
    const second = mount({ roomId: A, seq: 3 })
    await vi.advanceTimersByTimeAsync(MARK_READ_EVERY_MS * 0.75)
    expect(calls()).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(MARK_READ_EVERY_MS * 0.4)
    expect(calls()).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(MARK_READ_EVERY_MS * 0.1)
    expect(calls()).toEqual([
      { roomId: A, seq: 3 },
      { roomId: A, seq: 3 },
    ])
    first.unmount()
    second.unmount()
  })

  it('switching to another room sends the previous room’s waiting marker instead of dropping it', async () => {
    const { roomId, seq, unmount } = mount({ roomId: A, seq: 7 })
    roomId.value = B
    seq.value = 1
    await nextTick()
    expect(calls()).toEqual([{ roomId: A, seq: 7 }])
    await vi.advanceTimersByTimeAsync(MARK_READ_EVERY_MS * 2)
    expect(calls()).toEqual([{ roomId: A, seq: 7 }])
    unmount()
  })

  it('leaving the room sends the waiting marker', async () => {
    const { unmount } = mount({ roomId: A, seq: 9 })
    unmount()
    expect(calls()).toEqual([{ roomId: A, seq: 9 }])
  })

  it('a marker the server did not take goes again when the connection is back, though no message came since', async () => {
    markRead.mockRejectedValueOnce(new TypeError('Failed to fetch'))
    const { roomId, seq, online, qc, unmount } = mount({ roomId: A, seq: 6 })
    await vi.advanceTimersByTimeAsync(MARK_READ_EVERY_MS)
    expect(calls()).toEqual([{ roomId: A, seq: 6 }])
    // Still read here: the room does not light up again while it waits.
    expect(getRoomList(qc)![0]).toMatchObject({ unread: 0, lastReadSeq: 6 })
    // The signal drops and the person moves to another room before it comes back.
    online.value = false
    roomId.value = B
    seq.value = 1
    await nextTick()
    expect(calls()).toHaveLength(1)
    online.value = true
    await nextTick()
    await vi.advanceTimersByTimeAsync(MARK_READ_EVERY_MS)
    expect(calls()).toEqual([
      { roomId: A, seq: 6 },
      { roomId: A, seq: 6 },
    ])
    // Taken this time: it is not sent a third time.
    seq.value = 1
    online.value = false
    await nextTick()
    online.value = true
    await nextTick()
    await vi.advanceTimersByTimeAsync(MARK_READ_EVERY_MS)
    expect(calls()).toHaveLength(2)
    unmount()
  })

  it('a marker the server did not take as the room was left goes when the connection is back, with no room open, and the room list is asked again', async () => {
    markRead.mockRejectedValueOnce(new TypeError('Failed to fetch'))
    const { qc, unmount } = mount({ roomId: A, seq: 7 })
    const refetched = vi.spyOn(qc, 'invalidateQueries')
    unmount() // offline, back at the room list: the marker waiting goes, and is not taken
    await vi.advanceTimersByTimeAsync(0)
    expect(calls()).toEqual([{ roomId: A, seq: 7 }])

    await resendReadMarkers(qc) // the connection is back (useAppSync)
    expect(calls()).toEqual([
      { roomId: A, seq: 7 },
      { roomId: A, seq: 7 },
    ])
    expect(refetched).toHaveBeenCalledWith({ queryKey: roomListKey() })
    await resendReadMarkers(qc) // taken: not again
    expect(calls()).toHaveLength(2)
  })

  it('a refusal that will not change (no longer a member) is not repeated', async () => {
    markRead.mockRejectedValueOnce(new TRPCClientError('Room not found', { result: { error: { data: { code: 'NOT_FOUND' } } } } as never))
    const { online, unmount } = mount({ roomId: A, seq: 4 })
    await vi.advanceTimersByTimeAsync(MARK_READ_EVERY_MS)
    online.value = false
    await nextTick()
    online.value = true
    await nextTick()
    await vi.advanceTimersByTimeAsync(MARK_READ_EVERY_MS)
    expect(calls()).toEqual([{ roomId: A, seq: 4 }])
    unmount()
  })
})
