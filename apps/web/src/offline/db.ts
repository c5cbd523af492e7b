/**
 * IndexedDB cache of one signed-in user (`parley-<userId>`): rooms, the latest
 * messages of each visited room, the last seen seq per room and the outbox.
 * Written by the app (not the service worker); deleted at sign-out.
 */
import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb'
import type { Message, RoomListItem } from '@parley/schemas'

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

interface ParleyDB extends DBSchema {
  rooms: { key: string; value: RoomListItem }
  messages: { key: [string, number]; value: Message }
  roomState: { key: string; value: { roomId: string; lastSeq: number } }
  outbox: { key: string; value: OutboxItem; indexes: { byOrder: number } }
}

export type UserDB = IDBPDatabase<ParleyDB>

export const dbName = (userId: string) => `parley-${userId}`

let active: { userId: string; db: Promise<UserDB> } | null = null

export function openUserDb(userId: string): Promise<UserDB> {
  if (active?.userId === userId) return active.db
  closeUserDb()
  const db = openDB<ParleyDB>(dbName(userId), 1, {
    upgrade(db) {
      db.createObjectStore('rooms', { keyPath: 'id' })
      db.createObjectStore('messages', { keyPath: ['roomId', 'seq'] })
      db.createObjectStore('roomState', { keyPath: 'roomId' })
      db.createObjectStore('outbox', { keyPath: 'clientId' }).createIndex('byOrder', 'order')
    },
  })
  active = { userId, db }
  return db
}

export function closeUserDb(): void {
  const old = active
  active = null
  void old?.db.then((db) => db.close()).catch(() => {})
}

export async function deleteUserDb(userId: string): Promise<void> {
  if (active?.userId === userId) closeUserDb()
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

export async function saveRooms(rooms: RoomListItem[]): Promise<void> {
  const db = await current()
  if (!db) return
  const tx = db.transaction('rooms', 'readwrite')
  await tx.store.clear()
  await Promise.all(rooms.map((r) => tx.store.put(r)))
  await tx.done
}

export async function loadRooms(): Promise<RoomListItem[]> {
  const db = await current()
  if (!db) return []
  const rooms = await db.getAll('rooms')
  return rooms.sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt))
}

const roomRange = (roomId: string) => IDBKeyRange.bound([roomId, -Infinity], [roomId, Infinity])

/** Upsert messages and keep only the latest KEEP_PER_ROOM of the room. */
export async function saveMessages(roomId: string, messages: Message[]): Promise<void> {
  const db = await current()
  if (!db) return
  const tx = db.transaction('messages', 'readwrite')
  await Promise.all(messages.map((m) => tx.store.put(m)))
  const count = await tx.store.count(roomRange(roomId))
  if (count > KEEP_PER_ROOM) {
    let cursor = await tx.store.openCursor(roomRange(roomId))
    for (let excess = count - KEEP_PER_ROOM; cursor && excess > 0; excess--) {
      await cursor.delete()
      cursor = await cursor.continue()
    }
  }
  await tx.done
}

/**
 * Saves the newest KEEP_PER_ROOM messages of a room's timeline, writing only
 * those not saved before. A timeline keeps the same object for a message that
 * did not change (new lists share them), so a new message in a busy room
 * costs one write, not a copy and a write of the room's whole list.
 */
export function createTimelineSaver() {
  const saved = new WeakSet<Message>()
  return async function saveTimeline(roomId: string, messages: readonly Message[]): Promise<void> {
    const unsaved = messages.slice(-KEEP_PER_ROOM).filter((m) => !saved.has(m))
    if (!unsaved.length) return
    await saveMessages(roomId, unsaved)
    for (const m of unsaved) saved.add(m)
  }
}

/** The room's cached messages, ascending seq. */
export async function loadMessages(roomId: string): Promise<Message[]> {
  const db = await current()
  if (!db) return []
  return db.getAll('messages', roomRange(roomId))
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

export async function getLastSeq(roomId: string): Promise<number | null> {
  const db = await current()
  if (!db) return null
  return (await db.get('roomState', roomId))?.lastSeq ?? null
}

/** Only ever moves forward. */
export async function setLastSeq(roomId: string, seq: number): Promise<void> {
  const db = await current()
  if (!db) return
  const tx = db.transaction('roomState', 'readwrite')
  const prev = await tx.store.get(roomId)
  if (!prev || prev.lastSeq < seq) await tx.store.put({ roomId, lastSeq: seq })
  await tx.done
}

/** Reset may move it backwards (the log was reset). */
export async function resetLastSeq(roomId: string, seq: number): Promise<void> {
  const db = await current()
  await db?.put('roomState', { roomId, lastSeq: seq })
}

export async function loadOutbox(): Promise<OutboxItem[]> {
  const db = await current()
  if (!db) return []
  const stored: (OutboxItem | Omit<OutboxSend, 'kind'>)[] = await db.getAllFromIndex(
    'outbox',
    'byOrder',
  )
  // Queued before the outbox carried more than sends: those have no kind.
  return stored.map((i) => ('kind' in i ? i : { ...i, kind: 'send' }))
}

export async function putOutbox(item: OutboxItem): Promise<void> {
  const db = await current()
  await db?.put('outbox', item)
}

export async function deleteOutbox(clientId: string): Promise<void> {
  const db = await current()
  await db?.delete('outbox', clientId)
}
