import { useQueryClient } from '@tanstack/vue-query'
import { onScopeDispose, toValue, watch, type MaybeRefOrGetter } from 'vue'
import { getRoomList, patchRoom } from '../lib/cache.ts'
import { onPageMayEnd } from '../lib/page-lifecycle.ts'
import { postReadMark, resendReadMarkers, type ReadMark } from '../lib/read-markers.ts'

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
 * server did not take is sent again (lib/read-markers.ts).
 */
export function useMarkRead(
  roomId: MaybeRefOrGetter<string>,
  seq: MaybeRefOrGetter<number | null>,
  enabled: MaybeRefOrGetter<boolean>,
) {
  const qc = useQueryClient()
  let timer: ReturnType<typeof setTimeout> | undefined
  let waiting: ReadMark | null = null
  const sent = new Map<string, number>()

  function send(mark: ReadMark, leavingPage = false) {
    sent.set(mark.roomId, mark.seq)
    void postReadMark(mark, leavingPage).then((taken) => {
      if (!taken && sent.get(mark.roomId) === mark.seq) sent.delete(mark.roomId)
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
    void resendReadMarkers(qc)
    const upTo = toValue(seq)
    if (upTo == null || document.visibilityState !== 'visible') return
    const room = getRoomList(qc)?.find((r) => r.id === id)
    if (room && room.unread === 0 && room.lastReadSeq >= upTo) return
    if ((sent.get(id) ?? -1) >= upTo && room?.unread === 0) return
    patchRoom(qc, id, (r) => ({ unread: 0, lastReadSeq: Math.max(r.lastReadSeq, upTo) }), {
      remade: false,
    })
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
