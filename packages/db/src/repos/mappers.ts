import type { Message, PublicUser, Reaction, Room } from '@parley/schemas'
import type { MessageDoc, RoomDoc, UserDoc } from '../documents.ts'

/** Stored documents → wire shapes (hex ids, ISO times). */
export function toPublicUser(u: Pick<UserDoc, '_id' | 'username' | 'displayName'>): PublicUser {
  return { id: u._id.toHexString(), username: u.username, displayName: u.displayName }
}

export function toReactions(map: Record<string, string[]> | undefined): Reaction[] {
  return Object.entries(map ?? {})
    .filter(([, ids]) => ids.length > 0)
    .map(([emoji, userIds]) => ({ emoji, count: userIds.length, userIds }))
}

export function toMessage(m: MessageDoc): Message {
  return {
    id: m._id.toHexString(),
    roomId: m.roomId.toHexString(),
    seq: m.seq,
    author: m.author,
    body: m.deleted ? '' : m.body,
    createdAt: m.createdAt.toISOString(),
    editedAt: m.editedAt ? m.editedAt.toISOString() : null,
    deleted: m.deleted,
    clientId: m.clientId,
    reactions: toReactions(m.reactions),
  }
}

/** `live` comes from the event log and the newest message: rooms keep no copy of them, so a send writes nothing here. */
export function toRoom(r: RoomDoc, live: { seq: number; lastActivityAt: Date }): Room {
  return {
    id: r._id.toHexString(),
    name: r.name,
    topic: r.topic,
    visibility: r.visibility,
    direct: r.directKey !== undefined,
    directPeople: r.directPeople ?? null,
    ownerId: r.ownerId.toHexString(),
    seq: live.seq,
    epoch: r.epoch,
    memberCount: r.memberCount,
    createdAt: r.createdAt.toISOString(),
    lastActivityAt: live.lastActivityAt.toISOString(),
  }
}
