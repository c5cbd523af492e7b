/**
 * IndexedDB cache of one signed-in user (`parley-<userId>`): rooms, the latest
 * messages of each visited room, the last seen seq per room and the outbox.
 * Written by the app (not the service worker); deleted at sign-out. When the
 * session ends by itself, only the outbox stays (session.ts). A write the
 * page may not live to finish is kept in localStorage until it lands
 * (unstored.ts), and stored when the database is next opened.
 */
import { deleteDB, openDB, type DBSchema, type IDBPDatabase, type IDBPObjectStore } from 'idb'
import type { Message, RoomListItem } from '@parley/schemas'
import { dropUnstored, forgetUnstored, keepUntilStored, leftUnstored } from './unstored.ts'

/** Messages kept per room. */
export const KEEP_PER_ROOM = 200

export type OutboxStatus = 'pending' | 'sending' | 'failed'

interface OutboxBase {
  /** The item's key; for a send also the message's `clientId`, which the server dedupes on. */
  clientId: string
  roomId: string
  /** Monotonic: the order things were done in, and are sent in. */
  order: number
  createdAt: string
  /** Only a send is ever `failed`: a refused edit, delete or reaction is dropped. */
  status: OutboxStatus
  error?: string
}

export interface OutboxSend extends OutboxBase {
  kind: 'send'
  body: string
  /** It left the device and no answer came back: the server may have it. */
  unanswered?: true
  /**
   * Deleted by the user while the server may have it: kept, out of sight,
   * until it can be deleted there too (the outbox's sent()).
   */
  discarded?: true
}
export interface OutboxEdit extends OutboxBase {
  kind: 'edit'
  messageId: string
  body: string
}
export interface OutboxDelete extends OutboxBase {
  kind: 'delete'
  messageId: string
}
export interface OutboxReact extends OutboxBase {
  kind: 'react'
  messageId: string
  emoji: string
  on: boolean
  /** Who reacts (the signed-in user): the reaction shows under their id while it waits. */
  userId: string
}

/** A change to a message the server already has. */
export type OutboxAction = OutboxEdit | OutboxDelete | OutboxReact
export type OutboxItem = OutboxSend | OutboxAction

interface RoomState {
  roomId: string
  /** The last room event applied (absent until one is). */
  lastSeq?: number
  /** The saved messages run from the room's first message: nothing older on the server. */
  fromStart?: boolean
  /** The room log's epoch as of the last reset seen (absent before one). */
  epoch?: string
}

interface ParleyDB extends DBSchema {
  rooms: { key: string; value: RoomListItem }
  messages: { key: [string, number]; value: Message }
  roomState: { key: string; value: RoomState }
  outbox: { key: string; value: OutboxItem; indexes: { byOrder: number } }
}

export type UserDB = IDBPDatabase<ParleyDB>

export const dbName = (userId: string) => `parley-${userId}`

/** The user's writes kept in localStorage until IndexedDB has them (unstored.ts). */
const unstoredPrefix = (userId: string) => `parley:unstored:${userId}:`
const unstoredOutbox = (userId: string, clientId = '') =>
  `${unstoredPrefix(userId)}outbox:${clientId}`
const unstoredRooms = (userId: string) => `${unstoredPrefix(userId)}rooms`

let active: { userId: string; db: Promise<UserDB> } | null = null

/**
 * The user's tabs tell each other when the stored outbox changes (each holds
 * its own copy of the queue in memory: the outbox store's follow()).
 */
let outboxChannel: BroadcastChannel | null = null
const outboxListeners = new Set<() => void>()

/** Calls `fn` when another of the user's tabs changed the stored outbox. */
export function onOutboxChanged(fn: () => void): () => void {
  outboxListeners.add(fn)
  return () => outboxListeners.delete(fn)
}

/** This tab's changes to the stored outbox: begun, and not yet done. */
const outboxChanges = { begun: 0, running: 0 }

/** A snapshot of this tab's changes to the stored outbox: a read overlapped one when they differ, or one was running. */
export const outboxChangesHere = () => ({ ...outboxChanges })

/**
 * Every change to the stored outbox goes through here: counted (from the
 * call on, so a read started later knows it may predate it) and, once done,
 * announced to the user's other tabs.
 */
async function changeOutbox<T>(change: () => Promise<T>): Promise<T> {
  outboxChanges.begun++
  outboxChanges.running++
  try {
    const result = await change()
    outboxChannel?.postMessage('changed')
    return result
  } finally {
    outboxChanges.running--
  }
}

export function openUserDb(userId: string): Promise<UserDB> {
  if (active?.userId === userId) return active.db
  closeUserDb()
  if (typeof BroadcastChannel !== 'undefined') {
    outboxChannel = new BroadcastChannel(`parley-outbox:${userId}`)
    outboxChannel.onmessage = () => outboxListeners.forEach((fn) => fn())
  }
  const channel = outboxChannel
  const db = openDB<ParleyDB>(dbName(userId), 1, {
    upgrade(db) {
      db.createObjectStore('rooms', { keyPath: 'id' })
      db.createObjectStore('messages', { keyPath: ['roomId', 'seq'] })
      db.createObjectStore('roomState', { keyPath: 'roomId' })
      db.createObjectStore('outbox', { keyPath: 'clientId' }).createIndex('byOrder', 'order')
    },
  }).then(async (db) => {
    // Before anyone reads them: what a page that went away left unstored is
    // stored, and the user's other tabs are told of outbox items, as after
    // any change to the stored outbox.
    const added = await storeLeftUnstored(db, userId).catch(() => 0)
    if (added) channel?.postMessage('changed')
    return db
  })
  active = { userId, db }
  return db
}

/**
 * Stores what pages that went away left in localStorage (unstored.ts): the
 * room list they last saved, and outbox items, each only where the store
 * does not hold it (one it holds may have changed since, and its copy there
 * is the newer). Resolves to how many outbox items it added.
 */
async function storeLeftUnstored(db: UserDB, userId: string): Promise<number> {
  const left = leftUnstored(unstoredPrefix(userId))
  if (!left.length) return 0
  const rooms = left.find((u) => u.key === unstoredRooms(userId))
  if (Array.isArray(rooms?.value)) await writeRooms(db, rooms.value as RoomListItem[])
  const items = left.flatMap(({ key, value }) => {
    const item = value as Partial<OutboxItem> | null
    return key.startsWith(unstoredOutbox(userId)) && typeof item?.clientId === 'string'
      ? [item as OutboxItem]
      : []
  })
  const tx = db.transaction('outbox', 'readwrite')
  let added = 0
  for (const item of items) {
    if (await tx.store.getKey(item.clientId)) continue
    await tx.store.put(item)
    added++
  }
  await tx.done
  for (const { drop } of left) drop()
  return added
}

export function closeUserDb(): void {
  const old = active
  active = null
  outboxChannel?.close()
  outboxChannel = null
  void old?.db.then((db) => db.close()).catch(() => {})
}

/**
 * Deletes what the open database holds of the user's rooms (the list, their
 * messages, positions) and keeps their outbox: what they wrote and had not
 * sent yet is kept for their next sign-in here when the session ends.
 */
export async function forgetRooms(): Promise<void> {
  if (active) dropUnstored(unstoredRooms(active.userId))
  const db = await current()
  if (!db) return
  const tx = db.transaction(['rooms', 'messages', 'roomState'], 'readwrite')
  await Promise.all([
    tx.objectStore('rooms').clear(),
    tx.objectStore('messages').clear(),
    tx.objectStore('roomState').clear(),
    tx.done,
  ])
}

export async function deleteUserDb(userId: string): Promise<void> {
  if (active?.userId === userId) closeUserDb()
  forgetUnstored(unstoredPrefix(userId))
  await deleteDB(dbName(userId))
}

/** The open database, or null when nobody is signed in: callers then skip caching. */
async function current(): Promise<UserDB | null> {
  if (!active) return null
  try {
    return await active.db
  } catch {
    return null // private mode, quota, blocked: the app still works online
  }
}

const roomRange = (roomId: string) => IDBKeyRange.bound([roomId, -Infinity], [roomId, Infinity])

/**
 * Replaces the saved room list, and drops the saved messages and state of
 * rooms no longer in it (left or removed while this device was away). When
 * the page may end before the write lands (it is being hidden or closed),
 * `pageMayEnd` keeps the list in localStorage until it has.
 */
export async function saveRooms(
  rooms: RoomListItem[],
  { pageMayEnd = false }: { pageMayEnd?: boolean } = {},
): Promise<void> {
  const landed = pageMayEnd && active ? keepUntilStored(unstoredRooms(active.userId), rooms) : null
  try {
    const db = await current()
    if (db) await writeRooms(db, rooms)
  } finally {
    landed?.()
  }
}

async function writeRooms(db: UserDB, rooms: RoomListItem[]): Promise<void> {
  const keep = new Set(rooms.map((r) => r.id))
  const tx = db.transaction(['rooms', 'messages', 'roomState'], 'readwrite')
  const store = tx.objectStore('rooms')
  await store.clear()
  await Promise.all(rooms.map((r) => store.put(r)))
  for (const roomId of await tx.objectStore('roomState').getAllKeys()) {
    if (!keep.has(roomId)) await tx.objectStore('roomState').delete(roomId)
  }
  // One step per saved room: jump past each room's messages.
  const messages = tx.objectStore('messages')
  let cursor = await messages.openKeyCursor()
  while (cursor) {
    const [roomId] = cursor.key
    if (!keep.has(roomId)) await messages.delete(roomRange(roomId))
    cursor = await cursor.continue([roomId, Infinity])
  }
  await tx.done
}

export async function loadRooms(): Promise<RoomListItem[]> {
  const db = await current()
  if (!db) return []
  const rooms = await db.getAll('rooms')
  return rooms.sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt))
}

type MessageStore = IDBPObjectStore<ParleyDB, ['messages'], 'messages', 'readwrite'>

/** Drops the room's oldest saved messages past KEEP_PER_ROOM. */
async function trimRoom(store: MessageStore, roomId: string): Promise<void> {
  const count = await store.count(roomRange(roomId))
  if (count <= KEEP_PER_ROOM) return
  let cursor = await store.openCursor(roomRange(roomId))
  for (let excess = count - KEEP_PER_ROOM; cursor && excess > 0; excess--) {
    await cursor.delete()
    cursor = await cursor.continue()
  }
}

/**
 * Newer versions (edited, deleted, reacted to) of messages the saved copies
 * hold. One a copy does not hold is not added: it may be older than the copy
 * (the timeline had read an older page), and the copy must stay one run.
 */
export async function updateSavedMessages(messages: Message[]): Promise<void> {
  const db = await current()
  if (!db) return
  const tx = db.transaction('messages', 'readwrite')
  for (const m of messages) {
    if (await tx.store.getKey([m.roomId, m.seq])) await tx.store.put(m)
  }
  await tx.done
}

/**
 * Adds a message of the user's that the server took to the room's saved copy,
 * only where it extends it: right after the newest saved message (or in
 * place of itself). After a gap (others wrote meanwhile, or anything else
 * took a seq) the copy is left as it is, without the message: the next save
 * of the room's timeline brings both, and what an offline start shows stays
 * one run, never two with the messages between missing.
 */
export async function appendMessage(message: Message): Promise<void> {
  const db = await current()
  if (!db) return
  const tx = db.transaction('messages', 'readwrite')
  const newest = await tx.store.openKeyCursor(roomRange(message.roomId), 'prev')
  if (newest && newest.key[1] >= message.seq - 1) {
    await tx.store.put(message)
    await trimRoom(tx.store, message.roomId)
  }
  await tx.done
}

/**
 * Saves the newest KEEP_PER_ROOM messages of a room's timeline as the room's
 * whole saved copy: saved messages outside it go, so what an offline start
 * shows is one run the server gave, without gaps or stale older messages.
 * Writes only messages not saved before: a timeline keeps the same object for
 * a message that did not change (new lists share them), so a new message in
 * a busy room costs one write, not a copy and a write of the room's whole list.
 * `hasMore` is the timeline's: false when it holds the room from its start.
 */
export function createTimelineSaver() {
  const saved = new WeakSet<Message>()
  return async function saveTimeline(
    roomId: string,
    messages: readonly Message[],
    hasMore = true,
  ): Promise<void> {
    const db = await current()
    if (!db) return
    const run = messages.slice(-KEEP_PER_ROOM)
    const fromStart = !hasMore && run.length === messages.length
    const tx = db.transaction(['messages', 'roomState'], 'readwrite')
    const store = tx.objectStore('messages')
    const stored = new Set<number>()
    const inRun = new Set(run.map((m) => m.seq))
    for (const key of await store.getAllKeys(roomRange(roomId))) {
      if (inRun.has(key[1])) stored.add(key[1])
      else await store.delete(key)
    }
    // Not saved yet, or saved and since removed (a reset, a pruned room list).
    const unsaved = run.filter((m) => !saved.has(m) || !stored.has(m.seq))
    await Promise.all(unsaved.map((m) => store.put(m)))
    const state = tx.objectStore('roomState')
    const prev = await state.get(roomId)
    if ((prev?.fromStart ?? false) !== fromStart) await state.put({ ...prev, roomId, fromStart })
    await tx.done
    for (const m of unsaved) saved.add(m)
  }
}

/** A room's saved copy: its messages (ascending seq), and whether they run from its first message. */
export async function loadRoomCopy(
  roomId: string,
): Promise<{ messages: Message[]; fromStart: boolean }> {
  const db = await current()
  if (!db) return { messages: [], fromStart: false }
  const tx = db.transaction(['messages', 'roomState'])
  const [messages, state] = await Promise.all([
    tx.objectStore('messages').getAll(roomRange(roomId)),
    tx.objectStore('roomState').get(roomId),
  ])
  return { messages, fromStart: state?.fromStart ?? false }
}

export async function forgetRoom(roomId: string): Promise<void> {
  const db = await current()
  if (!db) return
  const tx = db.transaction(['messages', 'roomState', 'rooms'], 'readwrite')
  await tx.objectStore('messages').delete(roomRange(roomId))
  await tx.objectStore('roomState').delete(roomId)
  await tx.objectStore('rooms').delete(roomId)
  await tx.done
}

/**
 * Where the room's events resume after a reload: the last event applied, or
 * the saved copy's newest message if that is older. The copy is written a
 * little after the events that changed it (and a page may end between), so
 * an edit or delete of an older message may be applied and counted here but
 * not in the copy: replayed from there, it reaches the copy's messages too
 * (replays change nothing twice: lib/timeline.ts).
 */
export async function getLastSeq(roomId: string): Promise<number | null> {
  const db = await current()
  if (!db) return null
  const tx = db.transaction(['roomState', 'messages'])
  const [state, newest] = await Promise.all([
    tx.objectStore('roomState').get(roomId),
    tx.objectStore('messages').openKeyCursor(roomRange(roomId), 'prev'),
  ])
  const last = state?.lastSeq ?? null
  return newest && last != null ? Math.min(last, newest.key[1]) : last
}

/** Only ever moves forward. */
export async function setLastSeq(roomId: string, seq: number): Promise<void> {
  const db = await current()
  if (!db) return
  const tx = db.transaction('roomState', 'readwrite')
  const prev = await tx.store.get(roomId)
  if ((prev?.lastSeq ?? -1) < seq) await tx.store.put({ ...prev, roomId, lastSeq: seq })
  await tx.done
}

/**
 * A `reset` of the room's events: the seq may move backwards. Unless the log
 * is the one the saved messages came from (same epoch: the client was just
 * too far behind), they are dropped — the same seqs may now be other messages.
 */
export async function resetRoom(roomId: string, seq: number, epoch: string): Promise<void> {
  const db = await current()
  if (!db) return
  const tx = db.transaction(['messages', 'roomState'], 'readwrite')
  const state = tx.objectStore('roomState')
  const prev = await state.get(roomId)
  const sameLog = prev?.epoch === epoch
  if (!sameLog) await tx.objectStore('messages').delete(roomRange(roomId))
  await state.put({
    ...prev,
    roomId,
    lastSeq: seq,
    epoch,
    fromStart: sameLog ? prev?.fromStart : false,
  })
  await tx.done
}

/** Queued before the outbox carried more than sends: those have no kind. */
const withKind = (i: OutboxItem | Omit<OutboxSend, 'kind'>): OutboxItem =>
  'kind' in i ? i : { ...i, kind: 'send' }

export async function loadOutbox(): Promise<OutboxItem[]> {
  const db = await current()
  if (!db) return []
  const stored: (OutboxItem | Omit<OutboxSend, 'kind'>)[] = await db.getAllFromIndex(
    'outbox',
    'byOrder',
  )
  return stored.map(withKind)
}

/** One queued item as stored now: undefined when it is not, null when there is no database. */
export async function getOutbox(clientId: string): Promise<OutboxItem | undefined | null> {
  const db = await current()
  if (!db) return null
  const stored = await db.get('outbox', clientId)
  return stored && withKind(stored)
}

/**
 * Runs `fn` holding the signed-in user's outbox lock (Web Locks, shared by
 * the user's tabs), so that one tab at a time sends: each has its own copy of
 * the queue in memory. Without Web Locks it just runs `fn`.
 */
export function withOutboxLock(fn: () => Promise<void>): Promise<void> {
  if (!active || !navigator.locks) return fn()
  return navigator.locks.request(`parley-outbox:${active.userId}`, fn)
}

/**
 * Stores a new queued item. Until IndexedDB has it, it is kept in
 * localStorage too (unstored.ts), so a page gone within those ms loses nothing.
 */
export function addOutbox(item: OutboxItem): Promise<void> {
  const landed = active ? keepUntilStored(unstoredOutbox(active.userId, item.clientId), item) : null
  return putOutbox(item).finally(() => landed?.())
}

/**
 * Stores a queued item; with `changes`, an item already stored takes only
 * those (the writer's copy may be older than the stored one: another tab
 * may have it on the wire, stored as `sending`). A send another tab marked
 * deleted stays marked. Fails when there is no database (it could not be
 * opened): unlike a cached copy, a queued item the device did not keep is
 * lost with the page, and the outbox tells the user so.
 */
export function putOutbox(item: OutboxItem, changes?: Partial<OutboxSend>): Promise<void> {
  return changeOutbox(async () => {
    const update = await outboxUpdate(item.clientId)
    if (!update) throw new Error('No database on this device')
    const { tx, stored } = update
    const next = stored && changes ? ({ ...stored, ...changes } as OutboxItem) : item
    const marked = next.kind === 'send' && stored?.kind === 'send' && stored.discarded
    await tx.store.put(marked ? { ...next, discarded: true } : next)
    await tx.done
  })
}

/**
 * One queued item as stored now, read in a read-write transaction for the
 * caller to change it in: another tab's change cannot land between the read
 * and the write. Null when there is no database.
 */
async function outboxUpdate(clientId: string) {
  const db = await current()
  if (!db) return null
  const tx = db.transaction('outbox', 'readwrite')
  const stored = await tx.store.get(clientId)
  return { tx, stored: stored && withKind(stored) }
}

/**
 * A send the user deleted, as the store has it now, read and changed in one
 * transaction (another tab may be sending it): one that left the device
 * (`sending`, or unanswered) is marked, for its sender to delete on the
 * server; one that did not is deleted. Undefined when it is not stored (sent
 * or deleted by another tab, or never stored here); null without a database.
 * One still on its way into the store leaves localStorage at once
 * (unstored.ts): a page gone before the write must not bring it back.
 */
export function discardOutbox(clientId: string): Promise<'marked' | 'deleted' | undefined | null> {
  if (active) dropUnstored(unstoredOutbox(active.userId, clientId))
  return changeOutbox(async () => {
    const update = await outboxUpdate(clientId)
    if (!update) return null
    const { tx, stored } = update
    if (!stored) return undefined
    const left = stored.kind === 'send' && (stored.status === 'sending' || !!stored.unanswered)
    if (left) await tx.store.put({ ...stored, discarded: true })
    else await tx.store.delete(clientId)
    await tx.done
    return left ? 'marked' : 'deleted'
  })
}

/**
 * Takes a send the server has answered out of the store, putting in its
 * place what `follow` makes of the stored copy (an edit or delete made to it
 * meanwhile, here or in another tab), in one transaction: a change cannot
 * land between the read and the write, and a page closed in between keeps
 * the send (sent again, it is answered with the same message) or the
 * follow-up, never neither. `follow` gets undefined when the send is no
 * longer stored, null without a database (then nothing is written).
 */
export function settleOutbox<T extends OutboxItem | null>(
  clientId: string,
  follow: (stored: OutboxItem | undefined | null) => T,
): Promise<T> {
  return changeOutbox(async () => {
    const update = await outboxUpdate(clientId)
    if (!update) return follow(null)
    const { tx, stored } = update
    const next = follow(stored)
    if (next) await tx.store.put(next)
    await tx.store.delete(clientId)
    await tx.done
    return next
  })
}

export function deleteOutbox(clientId: string): Promise<void> {
  return changeOutbox(async () => {
    await (await current())?.delete('outbox', clientId)
  })
}
