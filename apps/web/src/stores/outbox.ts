import { acceptHMRUpdate, defineStore } from 'pinia'
import { ref } from 'vue'
import type { Message } from '@parley/schemas'
import { activeRoomId } from '../composables/useActiveRoom.ts'
import { bumpRoom, getTimeline, timelineKey, updateTimeline } from '../lib/cache.ts'
import { errorMessage, isTransientError, outcomeUnknown, retryAfterMs } from '../lib/errors.ts'
import { isAction, supersedes } from '../lib/pending.ts'
import { queryClient } from '../lib/query-client.ts'
import { tombstone, toggleReaction, upsertMessages } from '../lib/timeline.ts'
import { toast } from '../lib/toast.ts'
import { callMutation } from '../lib/trpc-query.ts'
import {
  addOutbox,
  appendMessage,
  deleteOutbox,
  discardOutbox,
  getOutbox,
  loadOutbox,
  onOutboxChanged,
  outboxChangesHere,
  putOutbox,
  settleOutbox,
  updateSavedMessages,
  withOutboxLock,
  type OutboxAction,
  type OutboxItem,
  type OutboxSend,
} from '../offline/db.ts'

const RETRY_MIN_MS = 2_000
const RETRY_MAX_MS = 30_000
/** How long this tab lets another tab's changes to the stored queue gather before it reads them. */
const FOLLOW_AFTER_MS = 50

const NOT_STORED =
  'Could not save this on your device: it will still be sent, if the app stays open until then'

const REFUSED: Record<OutboxAction['kind'], string> = {
  edit: 'Could not edit the message',
  delete: 'Could not delete the message',
  react: 'Could not react',
}

/** Whether the server may have a send: it is on its way, or it went and no answer came back. */
export const mayBePosted = (s: OutboxSend) => s.status === 'sending' || !!s.unanswered

/**
 * Everything the user does to messages, on its way out: sends, edits, deletes
 * and reactions in one queue, in the order they were done. Each is written to
 * IndexedDB as it is sent, and the queue is sent one at a time (and by one of
 * the user's tabs at a time, each item read again first: see reread). A retry after a
 * lost answer or a reload is harmless: `messages.send` is idempotent on
 * `clientId`, an edit or delete repeated changes nothing, and a reaction
 * carries its final state (`on`), not a toggle. That idempotence is also how a
 * send deleted while the server may have it is deleted there: it stays queued,
 * out of sight, is sent again to learn its id, and a delete takes its place.
 */
export const useOutboxStore = defineStore('outbox', () => {
  const items = ref<OutboxItem[]>([])
  let lastOrder = 0
  let flushing: Promise<void> | null = null
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let retryDelay = RETRY_MIN_MS

  /** Items this tab could not store: missing from the store, they were not deleted elsewhere. */
  const unstored = new Set<string>()
  /** Writes per item by this tab: one during a reread is newer than what it read. */
  const writes = new Map<string, number>()
  /** Counts a write of the item by this tab, and keeps whether the device holds it. */
  const track = (item: OutboxItem, write: Promise<void>) => {
    writes.set(item.clientId, (writes.get(item.clientId) ?? 0) + 1)
    return write.then(
      () => void unstored.delete(item.clientId),
      (err: unknown) => {
        unstored.add(item.clientId)
        throw err
      },
    )
  }
  const persist = (item: OutboxItem, changes?: Partial<OutboxSend>) =>
    track(item, putOutbox({ ...item }, changes))
  /**
   * A queued item's stored copy brought up to date. A failure is not the
   * user's to hear again (add() told them when the item could not be stored),
   * and must not fail what the queue does with the item in memory.
   */
  const restore = (item: OutboxItem, changes?: Partial<OutboxSend>) =>
    persist(item, changes).catch(() => {})
  const queued = (clientId: string) => items.value.some((i) => i.clientId === clientId)
  /**
   * Into the queue at its place in the order things were done (once: load
   * and follow may both read it); what is queued next goes after it.
   */
  function insert(...added: OutboxItem[]): void {
    const fresh = added.filter((i) => !queued(i.clientId))
    items.value = [...items.value, ...fresh].sort((a, b) => a.order - b.order)
    lastOrder = Math.max(lastOrder, ...fresh.map((i) => i.order))
  }
  function forget(clientId: string): void {
    items.value = items.value.filter((i) => i.clientId !== clientId)
    unstored.delete(clientId)
    writes.delete(clientId)
  }

  function nextOrder(): number {
    lastOrder = Math.max(Date.now(), lastOrder + 1)
    return lastOrder
  }

  /** The common fields of a new item; `order` defaults to the end of the queue. */
  function fresh(roomId: string, order = nextOrder()) {
    return {
      clientId: crypto.randomUUID(),
      roomId,
      order,
      createdAt: new Date().toISOString(),
      status: 'pending' as const,
    }
  }

  /**
   * A stored item as this tab takes it. One stored while on the wire whose
   * tab is not sending (after a reload, or read under the outbox lock): that
   * page went away before the answer came.
   */
  function revive(i: OutboxItem): OutboxItem {
    if (i.status !== 'sending') return i
    return i.kind === 'send'
      ? { ...i, status: 'pending', unanswered: true }
      : { ...i, status: 'pending' }
  }

  /**
   * Everything waiting to go from this device: this tab's queue and what the
   * user's other tabs have stored (each tab holds its own copy in memory).
   */
  async function waiting(): Promise<OutboxItem[]> {
    return [...items.value, ...(await storedElsewhere().catch((): OutboxItem[] => []))]
  }

  /** What the store holds that this tab's queue does not (another tab's, or from before a reload). */
  async function storedElsewhere(): Promise<OutboxItem[]> {
    return (await loadOutbox()).filter((i) => !queued(i.clientId))
  }

  /** Read the signed-in user's outbox. */
  async function load(): Promise<void> {
    insert(...(await storedElsewhere()).map(revive))
  }

  /** Queue an item (dropping the queued changes it makes pointless), store it, send. */
  async function add(item: OutboxItem): Promise<void> {
    const stale = isAction(item)
      ? items.value.filter((i) => i.status === 'pending' && supersedes(item, i))
      : []
    const gone = new Set(stale.map((i) => i.clientId))
    // The write starts before the queue changes: it then runs while the page
    // draws the item (in a long room, tens of ms), instead of after it.
    const stored = track(item, addOutbox({ ...item })).catch(() => toast(NOT_STORED, 'error'))
    items.value = [...items.value.filter((i) => !gone.has(i.clientId)), item]
    // Not waited for here: the stored copy matters only until the server has
    // the item, and a change that beats the write loses nothing (the item
    // leaves the store by a delete queued after the write, and IndexedDB runs
    // the two in order). An item the device cannot store still goes out.
    void flush()
    await Promise.all([stored, ...stale.map((i) => deleteOutbox(i.clientId))])
  }

  async function enqueue(roomId: string, body: string): Promise<OutboxItem> {
    const item: OutboxSend = { kind: 'send', body, ...fresh(roomId) }
    await add(item)
    return item
  }

  /** The queued send of a message the server has not confirmed yet (and the user has not deleted). */
  function unsent(message: Message): OutboxSend | undefined {
    return items.value.find(
      (i): i is OutboxSend => i.kind === 'send' && i.clientId === message.clientId && !i.discarded,
    )
  }

  async function edit(message: Message, body: string): Promise<void> {
    const send = unsent(message)
    if (!send) return add({ kind: 'edit', messageId: message.id, body, ...fresh(message.roomId) })
    // Not on the server yet: the send carries the new text (if it is already
    // on the wire, an edit follows it; see sent()).
    send.body = body
    // Only the text: another tab may have it on the wire, stored as `sending`.
    await restore(send, { body })
  }

  async function remove(message: Message): Promise<void> {
    if (unsent(message)) return discard(message.clientId)
    return add({ kind: 'delete', messageId: message.id, ...fresh(message.roomId) })
  }

  function react(message: Message, emoji: string, on: boolean, userId: string): Promise<void> {
    return add({
      kind: 'react',
      messageId: message.id,
      emoji,
      on,
      userId,
      ...fresh(message.roomId),
    })
  }

  /** A room's queued items, as the user sees them: without the sends they deleted. */
  function forRoom(roomId: string): OutboxItem[] {
    return items.value.filter((i) => i.roomId === roomId && !(i.kind === 'send' && i.discarded))
  }

  /** A room's sends the user deleted while the server may have them: their messages wait on that delete. */
  function discardedIn(roomId: string): OutboxSend[] {
    return items.value.filter(
      (i): i is OutboxSend => i.kind === 'send' && !!i.discarded && i.roomId === roomId,
    )
  }

  /**
   * A sent message goes into its room's timeline now (its event may come
   * later), where it does not leave a gap: in the room on screen (its events
   * fill in anything before it), or where the timeline reaches the seq just
   * before it. A timeline from an earlier visit or from the device, with
   * others' messages since missing, is marked stale instead, and is read
   * again when the room is opened. The saved copy takes it on the same terms.
   */
  function delivered(message: Message): void {
    const { roomId, seq } = message
    const newest = getTimeline(queryClient, roomId)?.messages.at(-1)?.seq ?? -Infinity
    if (activeRoomId.value === roomId || newest >= seq - 1) {
      updateTimeline(queryClient, roomId, (t) => ({
        ...t,
        messages: upsertMessages(t.messages, [message]),
      }))
    } else {
      void queryClient.invalidateQueries({ queryKey: timelineKey(roomId) })
    }
    bumpRoom(queryClient, message)
    void appendMessage(message).catch(() => {})
  }

  /** A change the server took goes into the cache (and the saved copy) now: its event may come later. */
  function settle(roomId: string, messageId: string, fn: (m: Message) => Message): void {
    let changed: Message | undefined
    updateTimeline(queryClient, roomId, (t) => ({
      ...t,
      messages: t.messages.map((m) => (m.id === messageId ? (changed = fn(m)) : m)),
    }))
    if (changed) void updateSavedMessages([changed])
  }

  async function done(item: OutboxItem): Promise<void> {
    forget(item.clientId)
    await deleteOutbox(item.clientId)
  }

  /**
   * A send went through; if it was deleted or edited meanwhile, here or in
   * another of the user's tabs (the stored copy has their changes: see
   * discard()), that change takes its place.
   */
  async function sent(item: OutboxSend, message: Message): Promise<void> {
    const messageId = message.id
    const storedHere = !unstored.has(item.clientId)
    const followUp = (stored: OutboxItem | undefined | null): OutboxAction | null => {
      const now = stored?.kind === 'send' && storedHere ? stored : item
      if (item.discarded || now.discarded)
        return { kind: 'delete', messageId, ...fresh(item.roomId, item.order) }
      if (now.body !== message.body)
        return { kind: 'edit', messageId, body: now.body, ...fresh(item.roomId, item.order) }
      return null
    }
    delivered(message)
    // The follow-up replaces the send in the store in one step (settleOutbox).
    const follow = await settleOutbox(item.clientId, followUp).catch(async () => {
      const f = followUp(null)
      if (f) await restore(f)
      await deleteOutbox(item.clientId).catch(() => {})
      return f
    })
    forget(item.clientId)
    if (follow) insert(follow)
  }

  async function perform(item: OutboxItem): Promise<void> {
    switch (item.kind) {
      case 'send': {
        const { roomId, clientId, body } = item
        // sent() settles the queue itself: the item may have changed while on the wire.
        return sent(item, await callMutation('messages.send', { roomId, clientId, body }))
      }
      case 'edit': {
        const m = await callMutation('messages.edit', {
          messageId: item.messageId,
          body: item.body,
        })
        settle(item.roomId, item.messageId, (cur) => ({
          ...cur,
          body: m.body,
          editedAt: m.editedAt,
        }))
        break
      }
      case 'delete':
        await callMutation('messages.delete', { messageId: item.messageId })
        settle(item.roomId, item.messageId, tombstone)
        break
      case 'react': {
        const { messageId, emoji, on, userId } = item
        await callMutation('messages.react', { messageId, emoji, on })
        settle(item.roomId, messageId, (cur) => ({
          ...cur,
          reactions: toggleReaction(cur.reactions, emoji, userId, on),
        }))
        break
      }
    }
    await done(item)
  }

  /**
   * The server said no for good. A send stays, failed, for the user to retry
   * or discard (one they deleted is simply gone: it was not posted); a change
   * is dropped, which takes it off the screen, the timeline is refetched for
   * the server's copy, and the user is told once.
   */
  async function refused(item: OutboxItem, err: unknown): Promise<void> {
    if (item.kind === 'send') {
      if (item.discarded) return done(item)
      item.status = 'failed'
      item.error = errorMessage(err)
      delete item.unanswered
      if (queued(item.clientId)) await restore(item)
      return
    }
    await done(item)
    toast(`${REFUSED[item.kind]}: ${errorMessage(err)}`, 'error')
    void queryClient.invalidateQueries({ queryKey: timelineKey(item.roomId) })
  }

  async function sendOne(item: OutboxItem): Promise<'next' | 'stop'> {
    item.status = 'sending'
    // Offline, the browser fails a request without sending it.
    const leaves = navigator.onLine
    // A send about to leave is stored as `sending`: if the page goes away
    // before the answer, load() then knows the server may have it, so
    // deleting it after a reload deletes it there too instead of only here.
    // Not waited for: the write is on disk in a few ms, an answer can take
    // seconds, and waiting put ~10 ms on a new room's first message (the
    // bench's browser phase, p50). The delete of the stored item once the
    // answer comes is a later IndexedDB transaction, so it runs after this.
    const marked = item.kind === 'send' && leaves && !item.unanswered
    if (marked) void restore(item)
    try {
      await perform(item)
    } catch (err) {
      if (isTransientError(err)) {
        item.status = 'pending'
        // Rate-limited: knocking again before the server's window reopens only spends the next try.
        retryDelay = Math.max(retryDelay, retryAfterMs(err) ?? 0)
        if (marked) {
          // The stored copy now says what is known: it may be posted (no
          // answer came), or it was not (the server answered and did not take it).
          if (outcomeUnknown(err)) item.unanswered = true
          if (queued(item.clientId)) void restore(item)
        }
        return 'stop'
      }
      await refused(item, err)
    }
    return 'next'
  }

  /**
   * Brings a queued item up to its stored copy before it is sent: another of
   * the user's tabs, with its own copy of the queue, may have sent, deleted
   * or changed it since this tab read it. Gone from the store, it leaves this
   * queue too. False when it is no longer this tab's to send.
   */
  async function reread(item: OutboxItem): Promise<boolean> {
    const before = writes.get(item.clientId)
    const stored = await getOutbox(item.clientId)
    if (!queued(item.clientId)) return false
    // This copy is newer than the stored one: changed here meanwhile, or not
    // stored by this tab (no database, a write that failed).
    const newer = writes.get(item.clientId) !== before || unstored.has(item.clientId)
    if (newer || stored === null) return item.status === 'pending'
    if (!stored) {
      forget(item.clientId)
      return false
    }
    takeStored(item, stored)
    return item.status === 'pending'
  }

  /** A queued item becomes its stored copy, in place: the queue, and the screen, hold this object. */
  function takeStored(item: OutboxItem, stored: OutboxItem): void {
    const fresh = revive(stored)
    const mine = item as unknown as Record<string, unknown>
    for (const key of Object.keys(mine)) if (!(key in fresh)) delete mine[key]
    Object.assign(item, fresh)
  }

  /**
   * Another of the user's tabs changed the stored queue: this tab's copy
   * follows it, so every tab shows the same — a message queued there shows
   * waiting here, one sent, deleted or refused there shows so here. Items
   * this tab is sending, or could not store, keep this tab's copy; and a read
   * that overlapped a change by this tab is not trusted (it may predate it):
   * it is read again later. Without a database the store reads empty, but
   * then every item is one this tab could not store.
   */
  async function follow(): Promise<void> {
    const before = outboxChangesHere()
    if (before.running) return followLater()
    const stored = await loadOutbox().catch(() => null)
    if (!stored) return
    const after = outboxChangesHere()
    if (after.running || after.begun !== before.begun) return followLater()
    const byId = new Map(stored.map((i) => [i.clientId, i]))
    for (const item of items.value) {
      if (item.status === 'sending' || unstored.has(item.clientId)) continue
      const now = byId.get(item.clientId)
      if (now) takeStored(item, now)
      else forget(item.clientId)
    }
    const added = stored.filter((i) => !queued(i.clientId)).map(revive)
    insert(...added)
    // Queued by a tab that may be gone before it sends them: under the lock,
    // this tab sends what is still stored once it is its turn.
    if (added.some((i) => i.status === 'pending') && navigator.onLine) void flush()
  }

  let followTimer: ReturnType<typeof setTimeout> | undefined
  function followLater(): void {
    clearTimeout(followTimer)
    followTimer = setTimeout(() => void follow(), FOLLOW_AFTER_MS)
  }
  onOutboxChanged(followLater)

  async function run(): Promise<void> {
    for (;;) {
      const next = items.value.find((i) => i.status === 'pending')
      if (!next) {
        retryDelay = RETRY_MIN_MS
        return
      }
      if (!(await reread(next))) continue
      // A transient failure stops the queue so later items never overtake it.
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
      // Under the lock: of the user's tabs, one sends at a time (see reread).
      flushing = withOutboxLock(run).finally(() => (flushing = null))
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
    await restore(item)
    await flush()
  }

  /**
   * The user no longer wants a send. It is forgotten, unless the server may
   * have it: then it stays queued, marked and out of sight, until it can be
   * deleted there too (forgetting it would leave it posted for everyone).
   * This tab's copy may say it never left while another of the user's tabs
   * has it on the wire, or has sent it: the stored copy decides
   * (discardOutbox), and a message already posted is deleted by its id.
   */
  async function discard(clientId: string): Promise<void> {
    const item = items.value.find((i) => i.clientId === clientId)
    if (item?.kind === 'send' && mayBePosted(item)) {
      item.discarded = true
      return restore(item, { discarded: true })
    }
    const storedHere = !unstored.has(clientId)
    forget(clientId) // at once: this tab's queue must not send it meanwhile
    const stored = await discardOutbox(clientId).catch(() => null)
    if (!item) return
    if (stored === 'marked' && item.kind === 'send') {
      // On the wire from another tab, or sent without an answer: queued again,
      // out of sight, for whichever tab sends it next to delete it on the server.
      insert({ ...item, discarded: true })
      return
    }
    if (stored !== undefined || !storedHere) return
    const posted = getTimeline(queryClient, item.roomId)?.messages.find(
      (m) => m.clientId === clientId && !m.deleted,
    )
    if (posted) await add({ kind: 'delete', messageId: posted.id, ...fresh(item.roomId) })
  }

  /** Forget everything in memory (sign-out; the database itself is deleted). */
  function reset(): void {
    clearTimeout(retryTimer)
    clearTimeout(followTimer)
    items.value = []
    unstored.clear()
    writes.clear()
    lastOrder = 0
  }

  return {
    items,
    waiting,
    load,
    enqueue,
    edit,
    remove,
    react,
    unsent,
    forRoom,
    discardedIn,
    flush,
    follow,
    kick,
    retry,
    discard,
    reset,
  }
})

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useOutboxStore, import.meta.hot))
