import type { Message, PublicUser, RoomEvent, RoomListItem } from '@parley/schemas'

let n = 0
const hex = (i: number) => i.toString(16).padStart(24, '0')

export function user(over: Partial<PublicUser> = {}): PublicUser {
  const id = over.id ?? hex(++n + 1000)
  return { id, username: `user${id.slice(-4)}`, displayName: `User ${id.slice(-4)}`, ...over }
}

export function message(over: Partial<Message> = {}): Message {
  const seq = over.seq ?? ++n
  return {
    id: hex(seq),
    roomId: hex(1),
    seq,
    author: user({ id: hex(9999) }),
    body: `message ${seq}`,
    createdAt: new Date(Date.UTC(2026, 0, 1, 12, 0, seq)).toISOString(),
    editedAt: null,
    deleted: false,
    clientId: `c-${seq}`,
    reactions: [],
    ...over,
  }
}

/** A room in the user's list, its last message at `seq` (none without one). */
export function listedRoom(over: Partial<RoomListItem> = {}): RoomListItem {
  const seq = over.seq ?? over.lastMessage?.seq ?? 0
  return {
    id: hex(1),
    name: 'general',
    topic: null,
    visibility: 'public',
    direct: false,
    directPeople: null,
    ownerId: hex(9999),
    seq,
    epoch: 'e1',
    memberCount: 2,
    createdAt: new Date(Date.UTC(2026, 0, 1)).toISOString(),
    lastActivityAt: over.lastMessage?.createdAt ?? new Date(Date.UTC(2026, 0, 1)).toISOString(),
    role: 'member',
    unread: 0,
    lastReadSeq: 0,
    lastMessage: null,
    muted: false,
    ...over,
  }
}

export const created = (m: Message): RoomEvent => ({
  type: 'message.created',
  roomId: m.roomId,
  seq: m.seq,
  message: m,
})
