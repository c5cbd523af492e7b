import { useQueryClient } from '@tanstack/vue-query'
import { onScopeDispose, toValue, watch, type MaybeRefOrGetter } from 'vue'
import { getRoomList, patchRoom } from '../lib/cache.ts'
import { callMutation } from '../lib/trpc-query.ts'

/** While the room is on screen, tell the server it is read up to `seq` (debounced). */
export function useMarkRead(
  roomId: MaybeRefOrGetter<string>,
  seq: MaybeRefOrGetter<number | null>,
  enabled: MaybeRefOrGetter<boolean>,
) {
  const qc = useQueryClient()
  let timer: ReturnType<typeof setTimeout> | undefined
  let pending: (() => void) | null = null
  const sent = new Map<string, number>()

  function check() {
    clearTimeout(timer)
    const id = toValue(roomId)
    const upTo = toValue(seq)
    if (!toValue(enabled) || upTo == null || document.visibilityState !== 'visible') return
    const room = getRoomList(qc)?.find((r) => r.id === id)
    if (room && room.unread === 0 && room.lastReadSeq >= upTo) return
    if ((sent.get(id) ?? -1) >= upTo && room?.unread === 0) return
    patchRoom(qc, id, (r) => ({ unread: 0, lastReadSeq: Math.max(r.lastReadSeq, upTo) }))
    pending = () => {
      pending = null
      sent.set(id, upTo)
      callMutation('rooms.markRead', { roomId: id, seq: upTo }).catch(() => sent.delete(id))
    }
    timer = setTimeout(pending, 600)
  }

  /** Leaving the room (or the page) must not drop a read marker still waiting for its debounce. */
  function flush() {
    clearTimeout(timer)
    pending?.()
  }

  watch(() => [toValue(roomId), toValue(seq), toValue(enabled)], check, { immediate: true })
  const onVisible = () => check()
  document.addEventListener('visibilitychange', onVisible)
  window.addEventListener('pagehide', flush)
  onScopeDispose(() => {
    flush()
    document.removeEventListener('visibilitychange', onVisible)
    window.removeEventListener('pagehide', flush)
  })
}
