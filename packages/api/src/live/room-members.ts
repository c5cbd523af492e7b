/**
 * Who is in the rooms this node's `events.user` streams follow, for the user
 * hub (user-hub.ts): when someone's presence changes, `roomsOf` names the
 * followed rooms they are in, and the hub tells those rooms' streams. One set
 * per followed room on the node (and its reverse, rooms by user), instead of
 * a copy of every member of every room in each stream.
 *
 * Kept current by the hub, from the `member.joined` / `member.left` events of
 * the rooms it follows.
 */
export function createRoomMembers(load: (roomId: string) => Promise<string[]>) {
  interface Entry {
    ids: Set<string>
    holders: number
    ready: Promise<void>
  }
  const rooms = new Map<string, Entry>()
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
            for (const id of ids) {
              created.ids.add(id)
              link(roomId, id)
            }
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
        if (--held.holders > 0 || rooms.get(roomId) !== held) return
        rooms.delete(roomId)
        for (const id of held.ids) unlink(roomId, id)
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
      const entry = rooms.get(roomId)
      if (!entry) return
      entry.ids.add(userId)
      link(roomId, userId)
    },

    left(roomId: string, userId: string): void {
      if (!rooms.get(roomId)?.ids.delete(userId)) return
      unlink(roomId, userId)
    },

    /** Members of a held room (0 when not held). */
    count(roomId: string): number {
      return rooms.get(roomId)?.ids.size ?? 0
    },

    /** The held rooms `userId` is a member of. */
    roomsOf(userId: string): ReadonlySet<string> {
      return byUser.get(userId) ?? NONE
    },

    /** Rooms held now (for tests). */
    size(): number {
      return rooms.size
    },
  }
}
const NONE: ReadonlySet<string> = new Set()
export type RoomMembers = ReturnType<typeof createRoomMembers>
