import type { Binary, ObjectId } from 'mongodb'
import type { RoomEvent, PublicUser, Role, Visibility } from '@parley/schemas'

/** Stored document shapes. Ids are ObjectIds in the database, hex strings on the wire. */
export interface UserDoc {
  _id: ObjectId
  /** Lower-cased; unique. */
  username: string
  displayName: string
  /** How many times the display name was changed (absent: never): orders changes heard out of order. */
  nameVersion?: number
  passwordHash: string
  createdAt: Date
}

/** A user as everything but sign-in sees it: the password hash stays in the database. */
export type UserRecord = Omit<UserDoc, 'passwordHash'>

export interface SessionDoc {
  /** The public half of the token (`id.secret`). */
  _id: string
  /** SHA-256 of the secret half; the raw secret is never stored. */
  secretHash: Binary
  userId: ObjectId
  createdAt: Date
  lastSeenAt: Date
  /** Inactivity deadline; pushed forward on use. */
  idleExpiresAt: Date
  absoluteExpiresAt: Date
  /** The browser's User-Agent as it signed in (at most 256 characters): tells the user's devices apart. */
  userAgent?: string
}

export interface RoomDoc {
  _id: ObjectId
  name: string
  topic: string | null
  visibility: Visibility
  ownerId: ObjectId
  /** For direct rooms: the two user ids, sorted and joined — unique. */
  directKey?: string
  /** For direct rooms: the two people, so each can be shown the room under the other's name. */
  directPeople?: PublicUser[]
  epoch: string
  memberCount: number
  /**
   * Its owner left with nobody to hand it to: whoever joins next owns it
   * (claimOwnership), so the room is never without someone to moderate it.
   */
  ownerless?: true
  /** The seq of the room.updated event its name and topic are stored from (absent before the first). */
  settingsSeq?: number
  createdAt: Date
}

export interface MemberDoc {
  _id: ObjectId
  roomId: ObjectId
  userId: ObjectId
  role: Role
  lastReadSeq: number
  joinedAt: Date
  /** Set by the member (`rooms.setMuted`); absent until they first do. */
  muted?: boolean
}

export interface InviteDoc {
  _id: ObjectId
  roomId: ObjectId
  userId: ObjectId
  invitedBy: ObjectId
  createdAt: Date
}

/** One entry of a room's event log: dense seqs under a unique (roomId, seq) index. */
export interface EventDoc {
  _id: ObjectId
  roomId: ObjectId
  seq: number
  /** The event exactly as subscribers receive it. */
  data: RoomEvent
  /** Set for message.created: idempotency key under a unique partial index. */
  authorId?: ObjectId
  clientId?: string
  createdAt: Date
}

export interface MessageDoc {
  _id: ObjectId
  roomId: ObjectId
  seq: number
  authorId: ObjectId
  author: PublicUser
  body: string
  clientId: string
  createdAt: Date
  editedAt: Date | null
  deleted: boolean
  /** emoji → user ids */
  reactions: Record<string, string[]>
  /** Seq of the last event applied to this document, so late writers never overwrite newer state. */
  updatedSeq: number
}
