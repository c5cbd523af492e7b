/**
 * Unsent message drafts, per room, in localStorage under the user's id: they
 * outlive the room screen (a phone's back button, the directory) and a
 * reload. Read and written whole each time, so two tabs do not undo each
 * other's drafts of other rooms. Deleted at sign-out (a shared computer);
 * kept when the session ends by itself, until the next sign-in here.
 */
import { ref } from 'vue'
import { readLocal, removeLocal, writeLocal } from './local-store.ts'

type Drafts = Record<string, string>

const PREFIX = 'parley:drafts:'
const key = (userId: string) => `${PREFIX}${userId}`

/** Moves on each change to the drafts, this tab's or another's: what shows them follows it. */
const changes = ref(0)
if (typeof window !== 'undefined') {
  window.addEventListener('storage', (e) => {
    if (e.key === null || e.key.startsWith(PREFIX)) changes.value++
  })
}

function read(userId: string): Drafts {
  try {
    const v: unknown = JSON.parse(readLocal(key(userId)) ?? '{}')
    return v && typeof v === 'object' ? (v as Drafts) : {}
  } catch {
    return {}
  }
}

/** The user's drafts by room id, read afresh after each change (reactive: `changes`). */
export function draftsOf(userId: string): Readonly<Drafts> {
  void changes.value
  return read(userId)
}

export function loadDraft(userId: string, roomId: string): string {
  const draft = read(userId)[roomId]
  return typeof draft === 'string' ? draft : ''
}

/** An empty text removes the room's draft (a message sent, or the text erased). */
export function saveDraft(userId: string, roomId: string, text: string): void {
  const drafts = read(userId)
  if (text) drafts[roomId] = text
  else if (roomId in drafts) delete drafts[roomId]
  else return
  if (Object.keys(drafts).length) writeLocal(key(userId), JSON.stringify(drafts))
  else removeLocal(key(userId))
  changes.value++
}

export function hasDrafts(userId: string): boolean {
  return Object.keys(read(userId)).length > 0
}

export function forgetDrafts(userId: string): void {
  removeLocal(key(userId))
  changes.value++
}
