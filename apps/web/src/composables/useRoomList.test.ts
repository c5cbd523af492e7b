import 'fake-indexeddb/auto'
import { QueryClient } from '@tanstack/vue-query'
import type { RoomListItem } from '@parley/schemas'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import { roomListKey } from '../lib/cache.ts'
import { deleteUserDb, loadRooms, openUserDb } from '../offline/db.ts'
import { mountComposable } from '../test/mount-composable.ts'
import { useRoomList } from './useRoomList.ts'

const USER = 'e'.repeat(24)
const A = 'a'.repeat(24)
const B = 'b'.repeat(24)
const room = (id: string, lastActivityAt = '2026-01-01T00:00:00.000Z') =>
  ({ id, name: id.slice(0, 3), unread: 0, lastActivityAt }) as RoomListItem

/** What an offline start would list: room id → its last activity. */
const saved = async () =>
  Object.fromEntries((await loadRooms()).map((r) => [r.id, r.lastActivityAt]))

function mount() {
  const qc = new QueryClient()
  qc.setQueryData(roomListKey(), [room(A)])
  const { unmount } = mountComposable(() => useRoomList(), qc)
  const show = async (rooms: RoomListItem[]) => {
    qc.setQueryData(roomListKey(), rooms)
    await nextTick() // the app's watchers run
  }
  return { show, unmount }
}

function hidePage() {
  Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
  document.dispatchEvent(new Event('visibilitychange'))
}

beforeEach(async () => {
  // Only the app's own timers: IndexedDB's tasks keep running.
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  await openUserDb(USER)
})
afterEach(async () => {
  vi.useRealTimers()
  Reflect.deleteProperty(document, 'visibilityState')
  await deleteUserDb(USER)
})

const LATER = '2026-01-02T00:00:00.000Z'

/** The list on screen, room B added (saved at once), then news in room A, waiting to settle. */
async function withUnsavedActivity() {
  const list = mount()
  await list.show([room(B), room(A)])
  await list.show([room(A, LATER), room(B)])
  return list
}

describe('useRoomList saving the list for an offline start', () => {
  it('saves a room added or removed at once: the app may be closed the next moment', async () => {
    const list = mount()
    await list.show([room(B), room(A)])
    expect(await saved()).toEqual({ [A]: room(A).lastActivityAt, [B]: room(B).lastActivityAt })
    await list.show([room(B)])
    expect(await saved()).toEqual({ [B]: room(B).lastActivityAt })
    list.unmount()
  })

  it('saves activity once the list settles, not at every event', async () => {
    const list = mount()
    await list.show([room(B), room(A)])
    await list.show([room(A, '2026-01-01T12:00:00.000Z'), room(B)])
    await list.show([room(A, LATER), room(B)])
    expect((await saved())[A]).toBe(room(A).lastActivityAt)
    await vi.advanceTimersByTimeAsync(300)
    expect((await saved())[A]).toBe(LATER)
    list.unmount()
  })

  it('saves what is unsaved as soon as the page is hidden (a phone may end it without warning)', async () => {
    const list = await withUnsavedActivity()
    hidePage()
    expect((await saved())[A]).toBe(LATER)
    list.unmount()
  })

  it('at sign-out, does not write the list into the database being deleted', async () => {
    const list = await withUnsavedActivity()
    list.unmount() // signed out: the app shell goes
    await vi.advanceTimersByTimeAsync(300)
    expect((await saved())[A]).toBe(room(A).lastActivityAt)
  })
})
