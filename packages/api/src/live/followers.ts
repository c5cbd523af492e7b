/**
 * Sets of members by key (the user hub's users by room), each set holding one
 * subscription (`subscribe`) while it is not empty: taken by the first
 * member, let go by the last. Members that come while it is being set up share
 * it; a failed set-up is not kept, so the next member tries again.
 */
export function createFollowers<M>(subscribe: (key: string) => Promise<() => void>) {
  interface Entry {
    readonly members: Set<M>
    ready: Promise<void>
    stop: (() => void) | null
  }
  const entries = new Map<string, Entry>()

  function forget(key: string, entry: Entry): void {
    if (entries.get(key) === entry) entries.delete(key)
  }

  return {
    /** Adds `member` to the set; resolves once the set's subscription is in place. */
    async add(key: string, member: M): Promise<void> {
      let entry = entries.get(key)
      if (!entry) {
        const created: Entry = { members: new Set(), ready: Promise.resolve(), stop: null }
        created.ready = subscribe(key).then(
          (stop) => {
            // Everyone left while it was being set up: let it go now.
            if (created.members.size === 0) {
              forget(key, created)
              stop()
            } else created.stop = stop
          },
          (err: unknown) => {
            // Not kept: the next member to come asks again.
            forget(key, created)
            throw err
          },
        )
        entries.set(key, created)
        entry = created
      }
      entry.members.add(member)
      try {
        await entry.ready
      } catch (err) {
        entry.members.delete(member)
        throw err
      }
    },

    remove(key: string, member: M): void {
      const entry = entries.get(key)
      if (!entry?.members.delete(member) || entry.members.size > 0) return
      // Still being set up: the setup lets it go when it is done.
      if (!entry.stop) return
      forget(key, entry)
      entry.stop()
    },

    /** The members following `key` (undefined when no one does). */
    members(key: string): ReadonlySet<M> | undefined {
      return entries.get(key)?.members
    },
  }
}
