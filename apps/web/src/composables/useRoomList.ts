import { useQueryClient } from '@tanstack/vue-query'
import { computed, watch } from 'vue'
import type { RoomListItem } from '@parley/schemas'
import { getRoomList } from '../lib/cache.ts'
import { setTrpcData, useTrpcQuery } from '../lib/trpc-query.ts'
import { loadRooms, saveRooms } from '../offline/db.ts'
import { useSessionStore } from '../stores/session.ts'

/** The caller's rooms: the server's list, seeded from IndexedDB until it answers, saved back on change. */
export function useRoomList() {
  const session = useSessionStore()
  const qc = useQueryClient()
  const query = useTrpcQuery('rooms.list', undefined, { enabled: () => session.signedIn })

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

  let saveTimer: ReturnType<typeof setTimeout> | undefined
  watch(query.data, (rooms) => {
    if (!rooms) return
    clearTimeout(saveTimer)
    saveTimer = setTimeout(() => void saveRooms(rooms), 300)
  })

  const rooms = computed<RoomListItem[]>(() => query.data.value ?? [])
  return { rooms, query }
}
