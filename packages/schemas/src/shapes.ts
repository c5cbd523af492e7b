import type { Role, Visibility } from './inputs.ts'

/** Wire shapes: plain JSON, times as ISO 8601 strings. */
export interface PublicUser {
  id: string
  username: string
  displayName: string
}

export interface Room {
  id: string
  name: string
  topic: string | null
  visibility: Visibility
  /** Set for two-person direct rooms. */
  direct: boolean
  /**
   * A direct room's two people, so each side can show it under the other's
   * name (`name` is "A & B" for both). Null for other rooms, and for direct
   * rooms made before the field until either person opens it again.
   */
  directPeople: PublicUser[] | null
  ownerId: string
  /** Latest event seq in this room. */
  seq: number
  /** Changes when the room's event log was reset; clients holding an old epoch reload. */
  epoch: string
  memberCount: number
  createdAt: string
  lastActivityAt: string
}

export interface RoomListItem extends Room {
  role: Role
  unread: number
  lastReadSeq: number
  lastMessage: Message | null
  /** The user muted the room (`rooms.setMuted`): no notification but for a mention, no count in the app's badge. */
  muted: boolean
}

export interface Member {
  user: PublicUser
  role: Role
  online: boolean
}

export interface Reaction {
  emoji: string
  count: number
  userIds: string[]
}

export interface Message {
  id: string
  roomId: string
  seq: number
  author: PublicUser
  body: string
  createdAt: string
  editedAt: string | null
  deleted: boolean
  clientId: string
  reactions: Reaction[]
}

/** Events of one room, in seq order. All but `typing`/`reset` are persisted and carry `seq`. */
export type RoomEvent =
  | { type: 'message.created'; roomId: string; seq: number; message: Message }
  | { type: 'message.updated'; roomId: string; seq: number; message: Message }
  | { type: 'message.deleted'; roomId: string; seq: number; message: Message }
  | { type: 'reaction'; roomId: string; seq: number; messageId: string; userId: string; emoji: string; on: boolean; reactions: Reaction[] }
  | { type: 'member.joined'; roomId: string; seq: number; member: { user: PublicUser; role: Role } }
  | { type: 'member.left'; roomId: string; seq: number; userId: string; reason: 'left' | 'kicked' }
  | { type: 'member.updated'; roomId: string; seq: number; userId: string; role: Role }
  /** The room's name and topic after an owner or admin changed either; `by` made the change. */
  | { type: 'room.updated'; roomId: string; seq: number; name: string; topic: string | null; by: PublicUser }

/** `expiresInMs`: how long to show it (the server's TYPING_MS). */
export type TypingEvent = { type: 'typing'; roomId: string; user: PublicUser; expiresInMs: number }
/** Sent alone when the client is too far behind (or the log was reset): refetch, then resubscribe from `seq`. */
export type ResetEvent = { type: 'reset'; roomId: string; seq: number; epoch: string }
export type RoomStreamEvent = RoomEvent | TypingEvent | ResetEvent

export type UserEvent =
  | { type: 'room.activity'; roomId: string; seq: number; unread: number; lastMessage: Message | null }
  /** `by`: who added the user (an invite, a direct conversation); absent when they joined or created it. */
  | { type: 'room.added'; room: RoomListItem; by?: PublicUser }
  | { type: 'room.removed'; roomId: string; reason: 'left' | 'kicked' }
  /** A room of the user's got a new name or topic (the room event of the same name, for the room list). */
  | { type: 'room.updated'; roomId: string; seq: number; name: string; topic: string | null; by: PublicUser }
  | { type: 'presence'; userId: string; status: 'online' | 'offline' }
  /** The user muted or unmuted a room of theirs, on this device or another. */
  | { type: 'room.muted'; roomId: string; muted: boolean }
  /** A new display name: the user's own (set on this device or another), or of someone sharing a room with them. */
  | { type: 'profile.updated'; user: PublicUser }
  | { type: 'session.revoked' }
