import type { QueryClient } from '@tanstack/vue-query'
import type { PublicUser, Room, RoomListItem } from '@parley/schemas'
import { sortRooms, updateRoomList } from './cache.ts'

/** A room we just created/joined/opened goes into the list at once (events.user confirms it). */
export function addRoomToList(qc: QueryClient, room: RoomListItem): void {
  updateRoomList(qc, (rooms) => sortRooms([...rooms.filter((r) => r.id !== room.id), room]))
}

/** The other person of a direct room (null for other rooms, or a direct room that predates `directPeople`). */
export function directPeer(room: Room, meId: string | undefined): PublicUser | null {
  if (!room.direct || !room.directPeople) return null
  return room.directPeople.find((p) => p.id !== meId) ?? null
}

/** What a room is called on screen: a direct room goes by the other person's name. */
export function roomTitle(room: Room, meId: string | undefined): string {
  return directPeer(room, meId)?.displayName ?? room.name
}
