import type { QueryClient } from '@tanstack/vue-query'
import type { PublicUser, Room, RoomListItem, UserEvent } from '@parley/schemas'
import { LIMITS } from '@parley/schemas/limits'
import { getRoomList, renameRoom, sortRooms, updateRoomList } from './cache.ts'
import { toast } from './toast.ts'

/** A room we just created/joined/opened goes into the list at once (events.user confirms it). */
export function addRoomToList(qc: QueryClient, room: RoomListItem): void {
  updateRoomList(qc, (rooms) => sortRooms([...rooms.filter((r) => r.id !== room.id), room]))
}

/** A room's name and topic as a form has them can be sent: a name, and both within their limits (trimmed, as the server counts). */
export function roomFieldsFit(name: string, topic: string): boolean {
  const n = name.trim().length
  return n > 0 && n <= LIMITS.roomNameMax && topic.trim().length <= LIMITS.roomTopicMax
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

/**
 * A direct conversation someone else opened with the user and nobody has
 * written in yet. It is not news until its first message (opening one is not
 * a word said), so the room list leaves it out until then; whoever opened it
 * (the room's `ownerId`) sees it at once.
 */
export function awaitsFirstMessage(room: RoomListItem, meId: string | undefined): boolean {
  return room.direct && !room.lastMessage && room.ownerId !== meId
}

/**
 * The room a step up (-1) or down (1) the list from `fromId` (Alt+↑/↓), or
 * the nearest one with something unread that way (Alt+Shift+↑/↓). From no
 * room in the list, the first (or last) one. Null at either end: the list
 * does not wrap, so holding the keys stops at its top or bottom.
 */
export function roomAlong(
  rooms: readonly RoomListItem[],
  fromId: string | null,
  step: 1 | -1,
  unreadOnly = false,
): RoomListItem | null {
  const from = rooms.findIndex((r) => r.id === fromId)
  const start = from === -1 ? (step === 1 ? -1 : rooms.length) : from
  for (let i = start + step; i >= 0 && i < rooms.length; i += step) {
    if (!unreadOnly || rooms[i]!.unread > 0) return rooms[i]!
  }
  return null
}

type RoomUpdate = Extract<UserEvent, { type: 'room.updated' }>
const TOPIC_SHOWN_MAX = 80

/** What a room.updated changed, in words for whoever reads the room ('' when nothing changed). */
export function roomChangeNotice(before: Pick<Room, 'name' | 'topic'>, event: RoomUpdate): string {
  const who = event.by.displayName
  // A room made with an empty topic has '' where others have null: the same on screen.
  const topicChanged = (before.topic || null) !== (event.topic || null)
  if (before.name !== event.name)
    return `${who} renamed the room to “${event.name}”${topicChanged ? ' and changed its topic' : ''}`
  if (!topicChanged) return ''
  if (!event.topic) return `${who} cleared the topic`
  const topic =
    event.topic.length > TOPIC_SHOWN_MAX
      ? `${event.topic.slice(0, TOPIC_SHOWN_MAX - 1)}…`
      : event.topic
  return `${who} changed the topic to “${topic}”`
}

/**
 * A room.updated from either stream (the same change comes by both): the
 * room list takes the new name and topic, and someone reading the room is
 * told who changed what, once, by the stream that brings it first (the
 * second finds nothing changed). One's own change needs no telling.
 */
export function applyRoomUpdate(
  qc: QueryClient,
  event: RoomUpdate,
  meId: string | undefined,
  reading: boolean,
): void {
  const before = getRoomList(qc)?.find((r) => r.id === event.roomId)
  renameRoom(qc, event)
  if (!before || !reading || event.by.id === meId) return
  const notice = roomChangeNotice(before, event)
  if (notice) toast(notice)
}
