/**
 * Writes on their way into IndexedDB, kept in localStorage until they land.
 * An IndexedDB write takes a few ms (more on a busy phone), and a page that
 * goes away meanwhile takes it with it: a reload or a closed tab right after
 * Enter, a phone ending an app it has just put away. localStorage is written
 * before the call returns, so the next start of the app stores what it finds
 * here (db.ts, `openUserDb`). One key per value: two tabs never rewrite each
 * other's entries.
 */
import { localKeys, readLocal, removeLocal, writeLocal } from './local-store.ts'

/**
 * Keeps `value` under `key` until the returned function is called (its
 * write settled), unless a later value has taken the key meanwhile: its own
 * write may still be on its way.
 */
export function keepUntilStored(key: string, value: unknown): () => void {
  const json = JSON.stringify(value)
  writeLocal(key, json)
  return () => removeUnchanged(key, json)
}

/** Removes `key` if it still holds `json`: a later value's own write may still be on its way. */
function removeUnchanged(key: string, json: string | null): void {
  if (readLocal(key) === json) removeLocal(key)
}

interface Unstored {
  key: string
  value: unknown
  /** Takes it out of localStorage (stored, or not wanted), unless another tab has kept a later value there since. */
  drop: () => void
}

/** What pages that went away left under keys starting with `prefix`; an unreadable entry is dropped. */
export function leftUnstored(prefix: string): Unstored[] {
  return localKeys(prefix).flatMap((key) => {
    const json = readLocal(key)
    const drop = () => removeUnchanged(key, json)
    try {
      return [{ key, value: JSON.parse(json ?? '') as unknown, drop }]
    } catch {
      drop()
      return []
    }
  })
}

/** One kept value that is no longer wanted (its item was deleted, say). */
export const dropUnstored = (key: string): void => removeLocal(key)

/** Everything kept under keys starting with `prefix` (sign-out). */
export function forgetUnstored(prefix: string): void {
  for (const key of localKeys(prefix)) removeLocal(key)
}
