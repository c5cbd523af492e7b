import type { MemberDoc, RoomDoc } from '@parley/db'

/**
 * A short-lived cache of "this user is a member of this room" for the hot
 * paths (messages.send, typing.start), so a send costs no membership read.
 * Entries die after `ttlMs`, and at once when this node publishes a membership
 * change; a change made on another node is honoured within `ttlMs`.
 */
export function createMembershipCache(ttlMs: number, maxEntries = 100_000) {
  const entries = new Map<string, { room: RoomDoc; member: MemberDoc; expires: number }>()
  const key = (roomId: string, userId: string) => `${roomId}:${userId}`

  return {
    get(roomId: string, userId: string) {
      const k = key(roomId, userId)
      const hit = entries.get(k)
      if (!hit) return null
      if (hit.expires < Date.now()) {
        entries.delete(k)
        return null
      }
      return hit
    },
    set(room: RoomDoc, member: MemberDoc) {
      if (ttlMs <= 0) return
      if (entries.size >= maxEntries) entries.clear()
      entries.set(key(room._id.toHexString(), member.userId.toHexString()), { room, member, expires: Date.now() + ttlMs })
    },
    forget(roomId: string, userId?: string) {
      if (userId) entries.delete(key(roomId, userId))
      else for (const k of entries.keys()) if (k.startsWith(`${roomId}:`)) entries.delete(k)
    },
  }
}
export type MembershipCache = ReturnType<typeof createMembershipCache>
