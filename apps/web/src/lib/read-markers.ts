import type { QueryClient } from '@tanstack/vue-query'
import { roomListKey } from './cache.ts'
import { isTransientError } from './errors.ts'
import { callMutation, callMutationAsPageGoes } from './trpc-query.ts'

export interface ReadMark {
  roomId: string
  seq: number
}

/**
 * Markers the server did not take (offline, a dropped request), newest per
 * room, for the tab's life rather than the room page's: the room shows as
 * read here, so nothing else would send them, and a room left while offline
 * (a phone back at its room list) has no page any more to send them from.
 */
const unsent = new Map<string, number>()

/**
 * Sends one marker (so as to outlive the page when it is going); resolves
 * whether the server took it. One it did not take for a reason that may pass
 * is kept for resendReadMarkers; a refusal that will not change (no longer a
 * member, say) is not.
 */
export function postReadMark(mark: ReadMark, leavingPage = false): Promise<boolean> {
  const sending = leavingPage
    ? callMutationAsPageGoes('rooms.markRead', mark)
    : callMutation('rooms.markRead', mark)
  return sending.then(
    () => true,
    (err: unknown) => {
      if (isTransientError(err))
        unsent.set(mark.roomId, Math.max(unsent.get(mark.roomId) ?? 0, mark.seq))
      return false
    },
  )
}

/**
 * Sends the markers the server did not take: at the next check of an open
 * room, and whenever the connection comes back (useAppSync). One taken, the
 * room list is asked again: the copy fetched as the connection came back
 * counted that room's messages as unread.
 */
export async function resendReadMarkers(qc: QueryClient): Promise<void> {
  if (!unsent.size) return
  const marks = [...unsent].map(([roomId, seq]) => ({ roomId, seq }))
  unsent.clear()
  const taken = await Promise.all(marks.map((mark) => postReadMark(mark)))
  if (taken.some(Boolean)) await qc.invalidateQueries({ queryKey: roomListKey() })
}

/** At sign-out: the markers were the last user's. */
export function forgetReadMarkers(): void {
  unsent.clear()
}
