import type { Bus } from '@parley/bus'
import type { MemberDoc, RoomDoc } from '@parley/db'
import { DEFAULT_LIMITS } from './limits.ts'

/** Cluster-wide: "this membership changed, stop trusting your copy". */
export const MEMBERSHIP_CHANNEL = 'membership:changed'

interface MembershipChange {
  roomId: string
  userId: string
}

const isChange = (p: unknown): p is MembershipChange =>
  typeof p === 'object' && p !== null && typeof (p as MembershipChange).roomId === 'string' && typeof (p as MembershipChange).userId === 'string'

/**
 * A short-lived cache of "this user is a member of this room" for the hot
 * paths (messages.send, typing.start), so a send costs no membership read.
 * Entries die after `ttlMs`, and on every node as soon as any node reports a
 * change (a kick, a leave, a new role) on MEMBERSHIP_CHANNEL — otherwise a
 * member kicked through one node could keep posting through another until
 * the entry expired. When the bus may have dropped messages (`onResync`), the
 * whole cache goes. A membership read that a change overtook (the kick landed
 * while the read was in flight) is not kept: `set` takes the `stamp()` from
 * before the read.
 */
export function createMembershipCache(ttlMs: number, bus: Bus, maxEntries = DEFAULT_LIMITS.membershipCacheMaxEntries) {
  const entries = new Map<string, { room: RoomDoc; member: MemberDoc; expires: number }>()
  const key = (roomId: string, userId: string) => `${roomId}:${userId}`
  /** Bumped by every change and resync: rare next to reads, so one counter for all keys is enough. */
  let changes = 0

  const subscribed = bus.subscribe(MEMBERSHIP_CHANNEL, (payload) => {
    if (!isChange(payload)) return
    changes++
    entries.delete(key(payload.roomId, payload.userId))
  })
  const stopResync = bus.onResync(() => {
    changes++
    entries.clear()
  })

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
    /** Take before reading a membership; pass to `set`. */
    stamp(): number {
      return changes
    },
    /** Keeps a membership read since `stamp`, unless a change came meanwhile (it may predate it). */
    set(room: RoomDoc, member: MemberDoc, stamp: number) {
      if (ttlMs <= 0 || stamp !== changes) return
      if (entries.size >= maxEntries) entries.clear()
      entries.set(key(room._id.toHexString(), member.userId.toHexString()), { room, member, expires: Date.now() + ttlMs })
    },
    /** A membership changed: forget it here at once and tell every other node. */
    changed(roomId: string, userId: string) {
      changes++
      entries.delete(key(roomId, userId))
      bus.publish(MEMBERSHIP_CHANNEL, { roomId, userId } satisfies MembershipChange)
    },
    /** Resolves once the cluster-wide channel is listened to. */
    ready: subscribed.then(() => undefined),
    async close() {
      stopResync()
      ;(await subscribed)()
    },
  }
}
export type MembershipCache = ReturnType<typeof createMembershipCache>
