import { useQueryClient } from '@tanstack/vue-query'
import { onScopeDispose, toValue, watch, type MaybeRefOrGetter } from 'vue'
import { getRoomList, patchRoom } from '../lib/cache.ts'
import { callMutation } from '../lib/trpc-query.ts'

/** How often, at most, a read marker goes to the server while messages keep coming. */
const MARK_READ_EVERY_MS = 600

/**
 * While the room is on screen, tell the server it is read up to `seq`.
 * Throttled, not debounced: a busy room still sends its marker every
 * MARK_READ_EVERY_MS. Switching to another room, leaving, or hiding the page
 * sends the marker still waiting instead of dropping it.
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

  /** Send the waiting marker now (if any). */
  function flush() {
    clearTimeout(timer)
    timer = undefined
    const mark = waiting
    waiting = null
    if (!mark) return
    sent.set(mark.roomId, mark.seq)
    callMutation('rooms.markRead', mark).catch(() => sent.delete(mark.roomId))
  }

  function check() {
    const id = toValue(roomId)
    // The page now shows another room: the previous room's marker goes out at once.
    if (waiting && waiting.roomId !== id) flush()
    const upTo = toValue(seq)
    if (!toValue(enabled) || upTo == null || document.visibilityState !== 'visible') return
    const room = getRoomList(qc)?.find((r) => r.id === id)
    if (room && room.unread === 0 && room.lastReadSeq >= upTo) return
    if ((sent.get(id) ?? -1) >= upTo && room?.unread === 0) return
    patchRoom(qc, id, (r) => ({ unread: 0, lastReadSeq: Math.max(r.lastReadSeq, upTo) }))
    waiting = { roomId: id, seq: Math.max(waiting?.seq ?? 0, upTo) }
    timer ??= setTimeout(flush, MARK_READ_EVERY_MS)
  }

  watch(() => [toValue(roomId), toValue(seq), toValue(enabled)], check, { immediate: true })
  const onVisibility = () => (document.visibilityState === 'visible' ? check() : flush())
  document.addEventListener('visibilitychange', onVisibility)
  window.addEventListener('pagehide', flush)
  onScopeDispose(() => {
    flush()
    document.removeEventListener('visibilitychange', onVisibility)
    window.removeEventListener('pagehide', flush)
  })
}
