import { useQueryClient } from '@tanstack/vue-query'
import { computed, onScopeDispose, watch } from 'vue'
import type { RoomListItem } from '@parley/schemas'
import { getRoomList, mergeRoomList, withChangesWhileAsked } from '../lib/cache.ts'
import { onPageMayEnd } from '../lib/page-lifecycle.ts'
import { setTrpcData, useTrpcQuery, type UseTrpcQueryOptions } from '../lib/trpc-query.ts'
import { loadRooms, saveRooms } from '../offline/db.ts'
import { useSessionStore } from '../stores/session.ts'

const SAVE_SETTLE_MS = 300

/** The same rooms, in any order (activity reorders the list). */
function sameRooms(a: RoomListItem[], b: RoomListItem[] | undefined): boolean {
  if (!b || a.length !== b.length) return false
  const ids = new Set(b.map((r) => r.id))
  return a.every((r) => ids.has(r.id))
}

/**
 * The `rooms.list` query, for every component that reads it: each observer
 * must fold a fresh list the same way (`withChangesWhileAsked`, then
 * `mergeRoomList`), since the fetch uses whichever observer's options came last.
 */
export function useRoomListQuery(
  options: Omit<UseTrpcQueryOptions<RoomListItem[]>, 'merge' | 'whileAsked'> = {},
) {
  return useTrpcQuery('rooms.list', undefined, {
    ...options,
    whileAsked: withChangesWhileAsked,
    merge: mergeRoomList,
  })
}

/** The caller's rooms: the server's list, seeded from IndexedDB until it answers, saved back on change. */
export function useRoomList() {
  const session = useSessionStore()
  const qc = useQueryClient()
  const query = useRoomListQuery({ enabled: () => session.signedIn })

  watch(
    () => session.user?.id,
    async (id) => {
      if (!id || getRoomList(qc)) return
      const cached = await loadRooms()
      // Fresh data wins: only seed if the server has not answered meanwhile.
      if (cached.length && !getRoomList(qc) && session.user?.id === id) {
        setTrpcData(qc, 'rooms.list', undefined, () => cached, { updatedAt: 1 })
      }
    },
    { immediate: true },
  )

  // The next offline start shows what was saved last. Activity changes the list
  // often, so a change is saved once it settles; but a room added or removed is
  // saved at once, and anything unsaved when the page is hidden (a phone may end
  // a backgrounded app without warning, before the write lands: then it is
  // kept in localStorage until it has) or closed.
  let unsaved: RoomListItem[] | undefined
  let saveTimer: ReturnType<typeof setTimeout> | undefined
  function save(pageMayEnd = false) {
    clearTimeout(saveTimer)
    if (unsaved) void saveRooms(unsaved, { pageMayEnd })
    unsaved = undefined
  }
  watch(query.data, (rooms, before) => {
    if (!rooms) return
    unsaved = rooms
    if (!sameRooms(rooms, before)) return save()
    clearTimeout(saveTimer)
    saveTimer = setTimeout(() => save(), SAVE_SETTLE_MS)
  })
  const stopSavingAtTheEnd = onPageMayEnd(() => save(true))
  onScopeDispose(() => {
    // At sign-out the list is not written to the database being deleted.
    if (session.signedIn) save()
    else clearTimeout(saveTimer)
    stopSavingAtTheEnd()
  })

  const rooms = computed<RoomListItem[]>(() => query.data.value ?? [])
  return { rooms, query }
}
