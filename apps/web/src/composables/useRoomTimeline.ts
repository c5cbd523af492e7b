import { useQueryClient } from '@tanstack/vue-query'
import { computed, ref, toValue, watch, type MaybeRefOrGetter } from 'vue'
import type { Message } from '@parley/schemas'
import { getTimeline, timelineInput, timelineKey, updateTimeline } from '../lib/cache.ts'
import { mergeLatest, prependOlder, type Timeline } from '../lib/timeline.ts'
import { callQuery, useTrpcQuery } from '../lib/trpc-query.ts'
import { createTimelineSaver, loadRoomCopy } from '../offline/db.ts'

export const PAGE_SIZE = 50

const saveTimeline = createTimelineSaver()

export interface UseRoomTimelineOptions {
  /** Save the newest messages for offline reading. Default true; a preview of a room not joined is not kept. */
  save?: MaybeRefOrGetter<boolean>
}

/**
 * A room's history: the latest page from `messages.list` (merged with what is
 * loaded), seeded from IndexedDB while the server has not answered, older
 * pages on demand, and the newest messages saved back for offline reading.
 */
export function useRoomTimeline(
  roomId: MaybeRefOrGetter<string>,
  options: UseRoomTimelineOptions = {},
) {
  const qc = useQueryClient()
  const query = useTrpcQuery('messages.list', () => timelineInput(toValue(roomId)), {
    staleTime: 0,
    refetchOnMount: 'always',
    merge: (cached, fresh) => mergeLatest(cached as Timeline | undefined, fresh),
  })
  const loadingOlder = ref(false)
  const olderError = ref<unknown>(null)
  /** Which older-page request speaks for the room on screen (a switch makes any in flight stale). */
  let olderRun = 0

  watch(
    () => toValue(roomId),
    async (id) => {
      // The last room's: its request may still be in flight, but this room is not loading.
      olderRun++
      loadingOlder.value = false
      olderError.value = null
      if (getTimeline(qc, id)) return
      const cached = await loadRoomCopy(id).catch(() => ({ messages: [], fromStart: false }))
      // A copy with no messages that runs from the start: the room had none yet.
      if ((cached.messages.length || cached.fromStart) && !getTimeline(qc, id)) {
        qc.setQueryData<Timeline>(
          timelineKey(id),
          { messages: cached.messages, hasMore: !cached.fromStart, fromCache: true },
          { updatedAt: 1 },
        )
      }
    },
    { immediate: true },
  )

  const timeline = computed(() => query.data.value as Timeline | undefined)
  const messages = computed<Message[]>(() => timeline.value?.messages ?? [])

  let saveTimer: ReturnType<typeof setTimeout> | undefined
  // Empty, only a room known to have no messages yet: a reset empties the
  // timeline until its fresh page lands, and that is not to be saved.
  const worthSaving = (t: Timeline | undefined): t is Timeline =>
    !!t && !t.fromCache && (t.messages.length > 0 || !t.hasMore)
  // The whole timeline, not just its messages: a fresh page equal to a cached
  // copy that live events already completed keeps the same messages array
  // (structural sharing), and only dropping `fromCache` says it may be saved.
  watch([timeline, () => toValue(options.save ?? true)], ([t, save]) => {
    const id = toValue(roomId)
    if (!worthSaving(t) || !save) return
    clearTimeout(saveTimer)
    saveTimer = setTimeout(() => {
      // As it is now: a reset since may have cleared the saved copy of what it was.
      const now = getTimeline(qc, id)
      if (worthSaving(now)) {
        void saveTimeline(id, now.messages, now.hasMore).catch(() => {})
      }
    }, 400)
  })

  /** Fetch the page before the oldest loaded message; resolves to how many arrived. */
  async function loadOlder(): Promise<number> {
    const id = toValue(roomId)
    const t = getTimeline(qc, id)
    const first = t?.messages[0]
    if (!t || !t.hasMore || !first || loadingOlder.value || t.fromCache) return 0
    const run = ++olderRun
    loadingOlder.value = true
    olderError.value = null
    try {
      const page = await callQuery('messages.list', {
        roomId: id,
        before: first.seq,
        limit: PAGE_SIZE,
      })
      // Still that room's history, kept even if another room is shown now.
      updateTimeline(qc, id, (cur) => prependOlder(cur, page))
      return run === olderRun ? page.messages.length : 0
    } catch (err) {
      if (run === olderRun) olderError.value = err
      return 0
    } finally {
      if (run === olderRun) loadingOlder.value = false
    }
  }

  const hasMore = computed(() => timeline.value?.hasMore ?? false)
  const fromCache = computed(() => timeline.value?.fromCache ?? false)
  return { query, messages, hasMore, fromCache, loadingOlder, olderError, loadOlder }
}
