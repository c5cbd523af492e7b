import type { QueryClient } from '@tanstack/vue-query'
import type { RoomListItem } from '@parley/schemas'
import { sortRooms, updateRoomList } from './cache.ts'

/** A room we just created/joined/opened goes into the list at once (events.user confirms it). */
export function addRoomToList(qc: QueryClient, room: RoomListItem): void {
  updateRoomList(qc, (rooms) => sortRooms([...rooms.filter((r) => r.id !== room.id), room]))
}
