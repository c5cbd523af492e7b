import { ObjectId } from 'mongodb'
import { batchedLookup, type LookupOptions } from '../batch.ts'
import type { Collections } from '../client.ts'
import type { UserDoc, UserRecord } from '../documents.ts'

/** Users: usernames are stored lower-cased under the unique index `users_username_unique`. */
export interface UsersRepo {
  /** Inserts a user. A taken username rejects with a duplicate-key error on INDEX.usersUsername (see isDuplicateKey). */
  insert(input: {
    username: string
    displayName: string
    passwordHash: string
    createdAt?: Date
  }): Promise<UserDoc>
  /** Without the password hash (what a session carries); batched with the other lookups of its turn. */
  findById(id: string | ObjectId): Promise<UserRecord | null>
  /** Case-insensitive: the name is lower-cased before the lookup. */
  findByUsername(username: string): Promise<UserDoc | null>
  setPasswordHash(id: ObjectId, passwordHash: string): Promise<void>
  /** The user as they are now, or null if there is no such user. */
  setDisplayName(id: ObjectId, displayName: string): Promise<UserRecord | null>
}

function toObjectId(id: string | ObjectId): ObjectId | null {
  if (id instanceof ObjectId) return id
  return /^[0-9a-f]{24}$/i.test(id) ? new ObjectId(id) : null
}

export function createUsersRepo(c: Pick<Collections, 'users'>, { lookupWindowMs }: LookupOptions = {}): UsersRepo {
  const users = c.users
  const byId = batchedLookup<ObjectId, UserRecord>({
    crowdWindowMs: lookupWindowMs,
    key: (id) => id.toHexString(),
    fetch: (ids) => users.find({ _id: { $in: [...ids] } }, { projection: { passwordHash: 0 } }).toArray(),
    keyOf: (u) => u._id.toHexString(),
  })
  return {
    async insert({ username, displayName, passwordHash, createdAt = new Date() }) {
      const doc: UserDoc = {
        _id: new ObjectId(),
        username: username.toLowerCase(),
        displayName,
        passwordHash,
        createdAt,
      }
      await users.insertOne(doc)
      return doc
    },
    async findById(id) {
      const _id = toObjectId(id)
      return _id ? byId(_id) : null
    },
    async findByUsername(username) {
      return users.findOne({ username: username.toLowerCase() })
    },
    async setPasswordHash(id, passwordHash) {
      await users.updateOne({ _id: id }, { $set: { passwordHash } })
    },
    async setDisplayName(id, displayName) {
      return users.findOneAndUpdate({ _id: id }, { $set: { displayName }, $inc: { nameVersion: 1 } }, { returnDocument: 'after', projection: { passwordHash: 0 } })
    },
  }
}
