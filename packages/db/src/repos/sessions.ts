import { Binary, type ObjectId } from 'mongodb'
import { batchedLookup, type LookupOptions } from '../batch.ts'
import type { Collections } from '../client.ts'
import type { SessionDoc } from '../documents.ts'

export interface NewSession {
  /** The public half of the token. */
  id: string
  /** SHA-256 of the secret half. */
  secretHash: Uint8Array
  userId: ObjectId
  createdAt: Date
  idleExpiresAt: Date
  absoluteExpiresAt: Date
  userAgent?: string
}

/** Sessions keyed by the public token id; only a hash of the secret is ever stored. */
export interface SessionsRepo {
  insert(session: NewSession): Promise<SessionDoc>
  findById(id: string): Promise<SessionDoc | null>
  /** Records use: moves `lastSeenAt` and the idle deadline forward. */
  touch(id: string, lastSeenAt: Date, idleExpiresAt: Date): Promise<void>
  /** Deletes one session and returns it (null when it did not exist). */
  delete(id: string): Promise<SessionDoc | null>
  /** A user's sessions that have not expired at `now`, the most recently used first. */
  liveForUser(userId: ObjectId, now?: Date): Promise<SessionDoc[]>
  /** Deletes one session if it is the user's; whether it did. */
  deleteForUser(userId: ObjectId, id: string): Promise<boolean>
  /** Deletes every session of a user; returns how many were deleted. */
  deleteAllForUser(userId: ObjectId): Promise<number>
  /** Deletes every session of a user but `keepId`; returns the ids it deleted. */
  deleteOthersForUser(userId: ObjectId, keepId: string): Promise<string[]>
  /** Deletes sessions past either deadline; returns how many were deleted. */
  deleteExpired(now?: Date): Promise<number>
  /** Of `ids`, those that still exist and have not expired at `now`. */
  liveIds(ids: readonly string[], now?: Date): Promise<Set<string>>
}

/** The stored hash as bytes. */
export function secretHashBytes(session: SessionDoc): Uint8Array {
  return session.secretHash.value()
}

export function createSessionsRepo(c: Pick<Collections, 'sessions'>, { lookupWindowMs }: LookupOptions = {}): SessionsRepo {
  const sessions = c.sessions
  const byId = batchedLookup<string, SessionDoc>({
    crowdWindowMs: lookupWindowMs,
    key: (id) => id,
    fetch: (ids) => sessions.find({ _id: { $in: [...ids] } }).toArray(),
    keyOf: (s) => s._id,
  })
  return {
    async insert(s) {
      const doc: SessionDoc = {
        _id: s.id,
        secretHash: new Binary(s.secretHash),
        userId: s.userId,
        createdAt: s.createdAt,
        lastSeenAt: s.createdAt,
        idleExpiresAt: s.idleExpiresAt,
        absoluteExpiresAt: s.absoluteExpiresAt,
        ...(s.userAgent && { userAgent: s.userAgent }),
      }
      await sessions.insertOne(doc)
      return doc
    },
    findById: byId,
    async touch(id, lastSeenAt, idleExpiresAt) {
      await sessions.updateOne({ _id: id }, { $set: { lastSeenAt, idleExpiresAt } })
    },
    async delete(id) {
      return sessions.findOneAndDelete({ _id: id })
    },
    async liveForUser(userId, now = new Date()) {
      return sessions
        .find({ userId, idleExpiresAt: { $gt: now }, absoluteExpiresAt: { $gt: now } })
        .sort({ lastSeenAt: -1, _id: 1 })
        .toArray()
    },
    async deleteForUser(userId, id) {
      const res = await sessions.deleteOne({ _id: id, userId })
      return res.deletedCount === 1
    },
    async deleteAllForUser(userId) {
      const res = await sessions.deleteMany({ userId })
      return res.deletedCount
    },
    async deleteOthersForUser(userId, keepId) {
      // The ids first: each ended session's sockets are told by id (a revocation of "all" would end keepId's too).
      const others = await sessions
        .find({ userId, _id: { $ne: keepId } }, { projection: { _id: 1 } })
        .toArray()
      const ids = others.map((d) => d._id)
      if (ids.length) await sessions.deleteMany({ _id: { $in: ids } })
      return ids
    },
    async deleteExpired(now = new Date()) {
      const res = await sessions.deleteMany({
        $or: [{ idleExpiresAt: { $lte: now } }, { absoluteExpiresAt: { $lte: now } }],
      })
      return res.deletedCount
    },
    async liveIds(ids, now = new Date()) {
      if (ids.length === 0) return new Set()
      const found = await sessions
        .find(
          { _id: { $in: [...ids] }, idleExpiresAt: { $gt: now }, absoluteExpiresAt: { $gt: now } },
          { projection: { _id: 1 } },
        )
        .toArray()
      return new Set(found.map((d) => d._id))
    },
  }
}
