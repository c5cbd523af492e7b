import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ref } from 'vue'
import { getTimeline, updateTimeline } from '../lib/cache.ts'
import { untypedTrpc } from '../lib/trpc.ts'
import type * as Trpc from '../lib/trpc.ts'
import { deleteUserDb, loadRoomCopy, openUserDb } from '../offline/db.ts'
import { message } from '../test/factories.ts'
import { mountComposable } from '../test/mount-composable.ts'
import { useRoomTimeline } from './useRoomTimeline.ts'

const query = vi.fn()
vi.mock('../lib/trpc.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof Trpc>()),
  untypedTrpc: vi.fn(),
}))

const USER = '7'.repeat(24)
const ROOM = '8'.repeat(24)
const page = (from: number, to: number, hasMore: boolean) => ({
  messages: Array.from({ length: to - from + 1 }, (_, i) =>
    message({ roomId: ROOM, seq: from + i }),
  ),
  hasMore,
})

const mount = (save = ref(true)) => mountComposable(() => useRoomTimeline(ROOM, { save }))

beforeEach(async () => {
  vi.mocked(untypedTrpc).mockReturnValue({ query } as never)
  query.mockReset()
  await openUserDb(USER)
})
afterEach(async () => {
  await deleteUserDb(USER)
})

describe('useRoomTimeline: what it keeps on the device', () => {
  it('saves a room joined, and whether the saved copy runs from its start', async () => {
    query.mockResolvedValue(page(2, 6, false))
    const { qc, unmount } = mount()
    await vi.waitFor(() => expect(getTimeline(qc, ROOM)?.messages).toHaveLength(5))
    await vi.waitFor(async () => expect((await loadRoomCopy(ROOM)).messages).toHaveLength(5))
    expect((await loadRoomCopy(ROOM)).fromStart).toBe(true)
    unmount()
  })

  it('keeps a room with no messages yet as such: opened again before the server answers, it shows empty, not unsaved', async () => {
    query.mockResolvedValue(page(1, 0, false))
    const first = mount()
    await vi.waitFor(async () => expect((await loadRoomCopy(ROOM)).fromStart).toBe(true))
    expect((await loadRoomCopy(ROOM)).messages).toEqual([])
    first.unmount()

    query.mockReturnValue(new Promise(() => {}))
    const again = mount()
    await vi.waitFor(() =>
      expect(getTimeline(again.qc, ROOM)).toEqual({
        messages: [],
        hasMore: false,
        fromCache: true,
      }),
    )
    again.unmount()
  })

  it('does not keep a timeline a reset emptied: the saved copy stays until the fresh page', async () => {
    query.mockResolvedValue(page(2, 6, false))
    const { qc, unmount } = mount()
    await vi.waitFor(async () => expect((await loadRoomCopy(ROOM)).messages).toHaveLength(5))
    // What a reset does (useRoomEvents): empty, until the fresh page lands.
    updateTimeline(qc, ROOM, () => ({ messages: [], hasMore: true, fromCache: true }))
    await new Promise((r) => setTimeout(r, 600)) // past the save's 400 ms wait
    expect((await loadRoomCopy(ROOM)).messages).toHaveLength(5)
    unmount()
  })

  it('does not save the preview of a room the user has not joined', async () => {
    query.mockResolvedValue(page(2, 6, false))
    const member = ref(false)
    const { qc, unmount } = mount(member)
    await vi.waitFor(() => expect(getTimeline(qc, ROOM)?.messages).toHaveLength(5))
    await new Promise((r) => setTimeout(r, 600)) // past the save's 400 ms wait
    expect((await loadRoomCopy(ROOM)).messages).toEqual([])
    // Joined: now it is kept.
    member.value = true
    await vi.waitFor(async () => expect((await loadRoomCopy(ROOM)).messages).toHaveLength(5))
    unmount()
  })
})

describe('useRoomTimeline: older history', () => {
  it('a request for the room left behind marks the room now shown neither loading nor failed', async () => {
    const OTHER = '9'.repeat(24)
    let failOlder!: (err: unknown) => void
    query.mockImplementation((_path: string, input: { roomId: string; before?: number }) =>
      input.before !== undefined
        ? new Promise((_resolve, reject) => (failOlder = reject))
        : Promise.resolve(input.roomId === ROOM ? page(2, 6, true) : page(1, 3, false)),
    )
    const roomId = ref(ROOM)
    let t!: ReturnType<typeof useRoomTimeline>
    const { qc, unmount } = mountComposable(() => (t = useRoomTimeline(roomId)))
    await vi.waitFor(() => expect(getTimeline(qc, ROOM)?.messages).toHaveLength(5))

    const older = t.loadOlder()
    expect(t.loadingOlder.value).toBe(true)
    roomId.value = OTHER
    await vi.waitFor(() => expect(t.messages.value).toHaveLength(3))
    expect(t.loadingOlder.value).toBe(false)

    failOlder(new Error('Internal server error'))
    expect(await older).toBe(0)
    expect(t.loadingOlder.value).toBe(false)
    expect(t.olderError.value).toBeNull()
    unmount()
  })
})
