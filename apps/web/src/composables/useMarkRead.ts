import { useQueryClient } from '@tanstack/vue-query'
import { onScopeDispose, toValue, watch, type MaybeRefOrGetter } from 'vue'
import { getRoomList, patchRoom } from '../lib/cache.ts'
import { isTransientError } from '../lib/errors.ts'
import { onPageMayEnd } from '../lib/page-lifecycle.ts'
import { callMutation, callMutationAsPageGoes } from '../lib/trpc-query.ts'

/**
 * How often, at most, a read marker goes to the server while messages keep
 * coming. Every reader of a busy room sends them: at 600 ms they outnumbered
 * the room's messages several times over and saturated the server long
 * before the messages did (docs/performance.md, "Read markers"). What
 * waits is not lost: leaving the room, switching rooms or hiding the page
 * sends it at once, and this device shows the room as read meanwhile.
 */
export const MARK_READ_EVERY_MS = 5000

/**
 * The wait before a marker, ±25 % at random: every reader of a room gets its
 * message at the same moment, and with one fixed wait all their markers
 * reached the server in the same instant (a burst that held up the room's
 * next messages).
 */
const markReadDelay = () => MARK_READ_EVERY_MS * (0.75 + Math.random() * 0.5)

/**
 * While the room is on screen, tell the server it is read up to `seq`.
 * Throttled, not debounced: a busy room still sends its marker every
 * MARK_READ_EVERY_MS. Switching to another room, leaving, or hiding the page
 * sends the marker still waiting instead of dropping it, and a marker the
 * server did not take is sent again.
 */
export function useMarkRead(
  roomId: MaybeRefOrGetter<string>,
  seq: MaybeRefOrGetter<number | null>,
  enabled: MaybeRefOrGetter<boolean>,
) {
  const qc = useQueryClient()
  let timer: ReturnType<typeof setTimeout> | undefined
  let waiting: { roomId: string; seq: number } | null = null
  const sent = new Map<string, number>()
  /**
   * Markers the server did not take (offline, a dropped request), newest per
   * room. The room already shows as read here, so nothing else would send
   * them: they go again at the next check — the connection's return, a new
   * message, another room — or the unread count would come back with the
   * next room list.
   */
  const unsent = new Map<string, number>()

  function send(mark: { roomId: string; seq: number }, leavingPage = false) {
    sent.set(mark.roomId, mark.seq)
    const sending = leavingPage
      ? callMutationAsPageGoes('rooms.markRead', mark)
      : callMutation('rooms.markRead', mark)
    sending.catch((err: unknown) => {
      if (sent.get(mark.roomId) === mark.seq) sent.delete(mark.roomId)
      // A refusal that will not change (no longer a member, say) is not repeated.
      if (isTransientError(err))
        unsent.set(mark.roomId, Math.max(unsent.get(mark.roomId) ?? 0, mark.seq))
    })
  }

  /**
   * Send the waiting marker now (if any). As the page is hidden or goes away
   * (a reload, a link followed, the tab closed) it goes so as to outlive the
   * page: sent the usual way, a reload a moment after reading lost it, and
   * the room came back unread.
   */
  function flush(leavingPage = false) {
    clearTimeout(timer)
    timer = undefined
    const mark = waiting
    waiting = null
    if (mark) send(mark, leavingPage)
  }
  const flushLeaving = () => flush(true)

  function check() {
    const id = toValue(roomId)
    // The page now shows another room: the previous room's marker goes out at once.
    if (waiting && waiting.roomId !== id) flush()
    if (!toValue(enabled)) return
    for (const [unsentRoom, unsentSeq] of unsent) {
      unsent.delete(unsentRoom)
      send({ roomId: unsentRoom, seq: unsentSeq })
    }
    const upTo = toValue(seq)
    if (upTo == null || document.visibilityState !== 'visible') return
    const room = getRoomList(qc)?.find((r) => r.id === id)
    if (room && room.unread === 0 && room.lastReadSeq >= upTo) return
    if ((sent.get(id) ?? -1) >= upTo && room?.unread === 0) return
    patchRoom(qc, id, (r) => ({ unread: 0, lastReadSeq: Math.max(r.lastReadSeq, upTo) }))
    waiting = { roomId: id, seq: Math.max(waiting?.seq ?? 0, upTo) }
    timer ??= setTimeout(() => flush(), markReadDelay())
  }

  watch(() => [toValue(roomId), toValue(seq), toValue(enabled)], check, { immediate: true })
  const stopFlushingAtTheEnd = onPageMayEnd(flushLeaving)
  const onVisible = () => document.visibilityState === 'visible' && check()
  document.addEventListener('visibilitychange', onVisible)
  onScopeDispose(() => {
    flush()
    stopFlushingAtTheEnd()
    document.removeEventListener('visibilitychange', onVisible)
  })
}
