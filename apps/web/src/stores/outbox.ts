import { acceptHMRUpdate, defineStore } from 'pinia'
import { ref } from 'vue'
import type { Message } from '@parley/schemas'
import { bumpRoom, updateTimeline } from '../lib/cache.ts'
import { errorMessage, isTransientError } from '../lib/errors.ts'
import { queryClient } from '../lib/query-client.ts'
import { upsertMessages } from '../lib/timeline.ts'
import { callMutation } from '../lib/trpc-query.ts'
import {
  deleteOutbox,
  loadOutbox,
  putOutbox,
  saveMessages,
  type OutboxItem,
} from '../offline/db.ts'

const RETRY_MIN_MS = 2_000
const RETRY_MAX_MS = 30_000

/**
 * Messages on their way out. Each is written to IndexedDB before anything is
 * sent, then sent in order through `messages.send`, idempotent on `clientId`,
 * so a retry after a lost answer or a reload never doubles a message.
 */
export const useOutboxStore = defineStore('outbox', () => {
  const items = ref<OutboxItem[]>([])
  let lastOrder = 0
  let flushing: Promise<void> | null = null
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let retryDelay = RETRY_MIN_MS

  const persist = (item: OutboxItem) => putOutbox({ ...item })

  /** Read the signed-in user's outbox (after a reload nothing is mid-send any more). */
  async function load(): Promise<void> {
    const stored = await loadOutbox()
    const known = new Set(items.value.map((i) => i.clientId))
    const loaded = stored
      .filter((i) => !known.has(i.clientId))
      .map((i) => (i.status === 'sending' ? { ...i, status: 'pending' as const } : i))
    items.value = [...items.value, ...loaded].sort((a, b) => a.order - b.order)
    lastOrder = Math.max(lastOrder, ...items.value.map((i) => i.order))
  }

  async function enqueue(roomId: string, body: string): Promise<OutboxItem> {
    lastOrder = Math.max(Date.now(), lastOrder + 1)
    const item: OutboxItem = {
      clientId: crypto.randomUUID(),
      roomId,
      body,
      order: lastOrder,
      createdAt: new Date().toISOString(),
      status: 'pending',
    }
    items.value.push(item)
    await persist(item)
    void flush()
    return item
  }

  function forRoom(roomId: string): OutboxItem[] {
    return items.value.filter((i) => i.roomId === roomId)
  }

  function delivered(message: Message): void {
    updateTimeline(queryClient, message.roomId, (t) => ({
      ...t,
      messages: upsertMessages(t.messages, [message]),
    }))
    bumpRoom(queryClient, message)
    void saveMessages(message.roomId, [message])
  }

  async function sendOne(item: OutboxItem): Promise<'sent' | 'failed' | 'stop'> {
    item.status = 'sending'
    try {
      const message = await callMutation('messages.send', {
        roomId: item.roomId,
        clientId: item.clientId,
        body: item.body,
      })
      items.value = items.value.filter((i) => i.clientId !== item.clientId)
      await deleteOutbox(item.clientId)
      delivered(message)
      return 'sent'
    } catch (err) {
      if (isTransientError(err)) {
        item.status = 'pending'
        return 'stop'
      }
      item.status = 'failed'
      item.error = errorMessage(err)
      await persist(item)
      return 'failed'
    }
  }

  async function run(): Promise<void> {
    for (;;) {
      const next = items.value.find((i) => i.status === 'pending')
      if (!next) {
        retryDelay = RETRY_MIN_MS
        return
      }
      // A transient failure stops the queue so later messages never overtake it.
      if ((await sendOne(next)) === 'stop') {
        scheduleRetry()
        return
      }
    }
  }

  function scheduleRetry(): void {
    clearTimeout(retryTimer)
    retryTimer = setTimeout(() => void flush(), retryDelay)
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS)
  }

  /** Send everything pending, in order; concurrent calls share one run. */
  function flush(): Promise<void> {
    if (!flushing) {
      clearTimeout(retryTimer)
      flushing = run().finally(() => (flushing = null))
    }
    return flushing
  }

  /** Connectivity is back: retry now rather than after the backoff. */
  function kick(): void {
    retryDelay = RETRY_MIN_MS
    void flush()
  }

  async function retry(clientId: string): Promise<void> {
    const item = items.value.find((i) => i.clientId === clientId)
    if (!item || item.status !== 'failed') return
    item.status = 'pending'
    delete item.error
    await persist(item)
    await flush()
  }

  async function discard(clientId: string): Promise<void> {
    items.value = items.value.filter((i) => i.clientId !== clientId)
    await deleteOutbox(clientId)
  }

  /** Forget everything in memory (sign-out; the database itself is deleted). */
  function reset(): void {
    clearTimeout(retryTimer)
    items.value = []
    lastOrder = 0
  }

  return { items, load, enqueue, forRoom, flush, kick, retry, discard, reset }
})

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useOutboxStore, import.meta.hot))
