/**
 * Who is in the rooms this node's `events.user` streams follow, for the user
 * hub (user-hub.ts): when someone's presence changes, `roomsOf` names the
 * followed rooms they are in, and the hub tells those rooms' followers. One
 * set of ids per followed room on the node (and its reverse, rooms by user),
 * set when the hub starts following the room, dropped when it stops, and kept
 * current from the room's `member.joined` / `member.left` events.
 */
export function createRoomMembers() {
  const rooms = new Map<string, Set<string>>()
  const byUser = new Map<string, Set<string>>()

  function link(roomId: string, userId: string): void {
    let set = byUser.get(userId)
    if (!set) byUser.set(userId, (set = new Set()))
    set.add(roomId)
  }
  function unlink(roomId: string, userId: string): void {
    const set = byUser.get(userId)
    if (set?.delete(roomId) && set.size === 0) byUser.delete(userId)
  }

  return {
    /** Starts knowing a room's members, or adds to those known. */
    set(roomId: string, userIds: readonly string[]): void {
      let ids = rooms.get(roomId)
      if (!ids) rooms.set(roomId, (ids = new Set()))
      for (const id of userIds) {
        ids.add(id)
        link(roomId, id)
      }
    },

    /** Forgets a room. */
    drop(roomId: string): void {
      const ids = rooms.get(roomId)
      if (!ids) return
      rooms.delete(roomId)
      for (const id of ids) unlink(roomId, id)
    },

    joined(roomId: string, userId: string): void {
      const ids = rooms.get(roomId)
      if (!ids) return
      ids.add(userId)
      link(roomId, userId)
    },

    left(roomId: string, userId: string): void {
      if (!rooms.get(roomId)?.delete(userId)) return
      unlink(roomId, userId)
    },

    /** Members of a known room (0 when not known). */
    count(roomId: string): number {
      return rooms.get(roomId)?.size ?? 0
    },

    /** The known rooms `userId` is a member of. */
    roomsOf(userId: string): ReadonlySet<string> {
      return byUser.get(userId) ?? NONE
    },
  }
}

const NONE: ReadonlySet<string> = new Set()
export type RoomMembers = ReturnType<typeof createRoomMembers>
