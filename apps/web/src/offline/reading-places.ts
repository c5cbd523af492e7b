import { onPageMayEnd } from '../lib/page-lifecycle.ts'
import { readLocal, removeLocal, writeLocal } from './local-store.ts'

/** A message near the top of a room's list, and how far below the list's top it was. */
export interface ReadingPlace {
  seq: number
  offset: number
}

const KEY = 'parley:reading-places'

const isEntry = (v: unknown): v is [string, ReadingPlace] =>
  Array.isArray(v) &&
  typeof v[0] === 'string' &&
  typeof v[1]?.seq === 'number' &&
  typeof v[1]?.offset === 'number'

function load(): Map<string, ReadingPlace> {
  try {
    const saved: unknown = JSON.parse(readLocal(KEY, 'sessionStorage') ?? '[]')
    return new Map(Array.isArray(saved) ? saved.filter(isEntry) : [])
  } catch {
    return new Map()
  }
}

/**
 * Where the reader was, up each room's list, when they left it (for another
 * room, the room list on a phone, or the page), by room id: see
 * RoomMessageList.vue. For the tab's life: kept in sessionStorage as the page
 * is hidden or goes, so a reload, or a tab a phone put away in the background
 * and loads again, opens the room there too. A room left at its bottom has
 * no entry.
 */
export const readingPlaces = load()

function save(): void {
  writeLocal(KEY, JSON.stringify([...readingPlaces]), 'sessionStorage')
}
onPageMayEnd(save)

/** Signed out: the next user of this tab starts at each room's newest. */
export function forgetReadingPlaces(): void {
  readingPlaces.clear()
  removeLocal(KEY, 'sessionStorage')
}
