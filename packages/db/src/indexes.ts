import type { Db, IndexDescription } from 'mongodb'

/**
 * Every index, named in one place. Created idempotently at start-up.
 * Names matter: duplicate-key errors are told apart by index name.
 */
export const INDEX = {
  usersUsername: 'users_username_unique',
  sessionsUser: 'sessions_user',
  roomsDirect: 'rooms_direct_unique',
  roomsBrowse: 'rooms_visibility_id',
  membersRoomUser: 'members_room_user_unique',
  membersUser: 'members_user',
  invitesRoomUser: 'invites_room_user_unique',
  eventsRoomSeq: 'events_room_seq_unique',
  eventsClientId: 'events_room_author_client_unique',
  messagesRoomSeq: 'messages_room_seq_unique',
} as const

const SPECS: Record<string, IndexDescription[]> = {
  users: [{ key: { username: 1 }, name: INDEX.usersUsername, unique: true }],
  sessions: [{ key: { userId: 1 }, name: INDEX.sessionsUser }],
  rooms: [
    { key: { directKey: 1 }, name: INDEX.roomsDirect, unique: true, partialFilterExpression: { directKey: { $exists: true } } },
    { key: { visibility: 1, _id: -1 }, name: INDEX.roomsBrowse },
  ],
  members: [
    { key: { roomId: 1, userId: 1 }, name: INDEX.membersRoomUser, unique: true },
    { key: { userId: 1 }, name: INDEX.membersUser },
  ],
  invites: [{ key: { roomId: 1, userId: 1 }, name: INDEX.invitesRoomUser, unique: true }],
  events: [
    { key: { roomId: 1, seq: 1 }, name: INDEX.eventsRoomSeq, unique: true },
    {
      key: { roomId: 1, authorId: 1, clientId: 1 },
      name: INDEX.eventsClientId,
      unique: true,
      partialFilterExpression: { clientId: { $exists: true } },
    },
  ],
  messages: [{ key: { roomId: 1, seq: 1 }, name: INDEX.messagesRoomSeq, unique: true }],
}

/**
 * Indexes earlier versions created and nothing reads now. Each still costs a
 * write on every insert and update of its collection, so start-up drops it.
 */
const RETIRED_INDEXES: Record<string, string[]> = {
  // The room directory's first index (on lastActivityAt, which sends no longer write); replaced by INDEX.roomsBrowse.
  rooms: ['rooms_visibility_activity'],
}

const INDEX_NOT_FOUND = 27

export async function ensureIndexes(db: Db): Promise<void> {
  await Promise.all(Object.entries(SPECS).map(([coll, specs]) => db.collection(coll).createIndexes(specs)))
  await Promise.all(
    Object.entries(RETIRED_INDEXES).flatMap(([coll, names]) =>
      names.map((name) =>
        db
          .collection(coll)
          .dropIndex(name)
          .catch((err: unknown) => {
            // Already gone, as on every database created since. (The collection exists: createIndexes made it.)
            if ((err as { code?: unknown }).code !== INDEX_NOT_FOUND) throw err
          }),
      ),
    ),
  )
}

/** True when `err` is a duplicate-key error on the index named `indexName`. */
export function isDuplicateKey(err: unknown, indexName?: string): boolean {
  if (!err || typeof err !== 'object' || (err as { code?: unknown }).code !== 11000) return false
  if (!indexName) return true
  const message = String((err as { message?: unknown }).message ?? '')
  return message.includes(`index: ${indexName} `) || message.includes(`index: ${indexName}`)
}
