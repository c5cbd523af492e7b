import { useQueryClient } from '@tanstack/vue-query'
import { computed, ref, toValue, watch, type MaybeRefOrGetter } from 'vue'
import type { Message } from '@parley/schemas'
import { getTimeline, timelineInput, timelineKey, updateTimeline } from '../lib/cache.ts'
import { mergeLatest, prependOlder, type Timeline } from '../lib/timeline.ts'
import { callQuery, useTrpcQuery } from '../lib/trpc-query.ts'
import { createTimelineSaver, loadMessages } from '../offline/db.ts'

export const PAGE_SIZE = 50

const saveTimeline = createTimelineSaver()

/**
 * A room's history: the latest page from `messages.list` (merged with what is
 * loaded), seeded from IndexedDB while the server has not answered, older
 * pages on demand, and the newest messages saved back for offline reading.
 */
export function useRoomTimeline(roomId: MaybeRefOrGetter<string>) {
  const qc = useQueryClient()
  const query = useTrpcQuery('messages.list', () => timelineInput(toValue(roomId)), {
    staleTime: 0,
    refetchOnMount: 'always',
    merge: (cached, fresh) => mergeLatest(cached as Timeline | undefined, fresh),
  })
  const loadingOlder = ref(false)
  const olderError = ref<unknown>(null)

  watch(
    () => toValue(roomId),
    async (id) => {
      if (getTimeline(qc, id)) return
      const cached = await loadMessages(id).catch(() => [])
      if (cached.length && !getTimeline(qc, id)) {
        qc.setQueryData<Timeline>(
          timelineKey(id),
          { messages: cached, hasMore: true, fromCache: true },
          { updatedAt: 1 },
        )
      }
    },
    { immediate: true },
  )

  const timeline = computed(() => query.data.value as Timeline | undefined)
  const messages = computed<Message[]>(() => timeline.value?.messages ?? [])

  let saveTimer: ReturnType<typeof setTimeout> | undefined
  // The whole timeline, not just its messages: a fresh page equal to a cached
  // copy that live events already completed keeps the same messages array
  // (structural sharing), and only dropping `fromCache` says it may be saved.
  watch(timeline, (t) => {
    const id = toValue(roomId)
    const list = t?.messages ?? []
    if (!list.length || t?.fromCache) return
    clearTimeout(saveTimer)
    saveTimer = setTimeout(() => void saveTimeline(id, list), 400)
  })

  /** Fetch the page before the oldest loaded message; resolves to how many arrived. */
  async function loadOlder(): Promise<number> {
    const id = toValue(roomId)
    const t = getTimeline(qc, id)
    const first = t?.messages[0]
    if (!t || !t.hasMore || !first || loadingOlder.value || t.fromCache) return 0
    loadingOlder.value = true
    olderError.value = null
    try {
      const page = await callQuery('messages.list', {
        roomId: id,
        before: first.seq,
        limit: PAGE_SIZE,
      })
      updateTimeline(qc, id, (cur) => prependOlder(cur, page))
      return page.messages.length
    } catch (err) {
      olderError.value = err
      return 0
    } finally {
      loadingOlder.value = false
    }
  }

  const hasMore = computed(() => timeline.value?.hasMore ?? false)
  const fromCache = computed(() => timeline.value?.fromCache ?? false)
  return { query, messages, hasMore, fromCache, loadingOlder, olderError, loadOlder }
}
