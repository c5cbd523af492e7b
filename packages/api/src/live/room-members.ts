/**
 * Who is in the rooms this node's `events.user` streams follow, shared by all
 * of them: a stream asks whether a user whose presence changed shares a room
 * with its own user. One set per followed room on the node, instead of a copy
 * of every member of every room in each stream (a user in two 600-member rooms
 * held 1,200 entries per connection, and a node holds thousands of streams).
 *
 * Kept current by the streams themselves, from the `member.joined` /
 * `member.left` events they receive on the rooms they follow.
 */
export function createRoomMembers(load: (roomId: string) => Promise<string[]>) {
  interface Entry {
    ids: Set<string>
    holders: number
    ready: Promise<void>
  }
  const rooms = new Map<string, Entry>()

  return {
    /**
     * Follows a room's members; resolves, once they are loaded, to the
     * function that stops following (the set goes with its last holder).
     */
    async hold(roomId: string): Promise<() => void> {
      let entry = rooms.get(roomId)
      if (!entry) {
        const created: Entry = { ids: new Set(), holders: 0, ready: Promise.resolve() }
        created.ready = load(roomId).then(
          (ids) => {
            for (const id of ids) created.ids.add(id)
          },
          (err: unknown) => {
            // Not kept: the next stream to follow the room asks again.
            if (rooms.get(roomId) === created) rooms.delete(roomId)
            throw err
          },
        )
        rooms.set(roomId, created)
        entry = created
      }
      entry.holders++
      const held = entry
      let released = false
      const release = () => {
        if (released) return
        released = true
        if (--held.holders === 0 && rooms.get(roomId) === held) rooms.delete(roomId)
      }
      try {
        await held.ready
      } catch (err) {
        release()
        throw err
      }
      return release
    },

    joined(roomId: string, userId: string): void {
      rooms.get(roomId)?.ids.add(userId)
    },

    left(roomId: string, userId: string): void {
      rooms.get(roomId)?.ids.delete(userId)
    },

    /** Whether `userId` is a member of any of these rooms (only rooms held count). */
    shares(roomIds: Iterable<string>, userId: string): boolean {
      for (const roomId of roomIds) if (rooms.get(roomId)?.ids.has(userId)) return true
      return false
    },

    /** Rooms held now (for tests and metrics). */
    size(): number {
      return rooms.size
    },
  }
}
export type RoomMembers = ReturnType<typeof createRoomMembers>
