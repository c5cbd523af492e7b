/**
 * The signed-in user, remembered in localStorage (id, username, display name:
 * nothing secret) so a cold start without network opens the app signed in.
 */
import type { PublicUser } from '@parley/schemas'
import { readLocal, removeLocal, writeLocal } from './local-store.ts'

const KEY = 'parley:user'

function writeUser(key: string, { id, username, displayName }: PublicUser): void {
  writeLocal(key, JSON.stringify({ id, username, displayName }))
}

function readUser(key: string): PublicUser | null {
  try {
    const v = JSON.parse(readLocal(key) ?? 'null') as Partial<PublicUser> | null
    if (typeof v?.id !== 'string' || typeof v.username !== 'string') return null
    return { id: v.id, username: v.username, displayName: v.displayName ?? v.username }
  } catch {
    return null
  }
}

export const rememberUser = (user: PublicUser): void => writeUser(KEY, user)
export const rememberedUser = (): PublicUser | null => readUser(KEY)

export function forgetUser(): void {
  removeLocal(KEY)
}

/**
 * Calls `onChange` when another tab changes who is remembered (signs out, or
 * signs someone in): the change this tab's own writes make is not reported.
 */
export function onRememberedUserChange(onChange: (user: PublicUser | null) => void): void {
  window.addEventListener('storage', (e) => {
    // A null key: the whole of localStorage was cleared.
    if (e.key === KEY || e.key === null) onChange(rememberedUser())
  })
}

const LOGOUT_KEY = 'parley:logout-pending'

/**
 * A sign-out the server has not confirmed (made offline): the HttpOnly
 * session cookie is still in the browser, and `auth.me` would sign the user
 * straight back in with it. (Storage disabled: the server session expires by itself.)
 */
export function markLogoutPending(): void {
  writeLocal(LOGOUT_KEY, '1')
}

export function logoutPending(): boolean {
  return readLocal(LOGOUT_KEY) !== null
}

export function clearLogoutPending(): void {
  removeLocal(LOGOUT_KEY)
}

const KEPT_KEY = 'parley:kept'

/**
 * A user whose session ended (expired, or ended elsewhere while this device
 * was offline) with messages or drafts waiting here: kept for their next
 * sign-in on this device, deleted if someone else signs in.
 */
export const keepFor = (user: PublicUser): void => writeUser(KEPT_KEY, user)
export const keptFor = (): PublicUser | null => readUser(KEPT_KEY)
export const forgetKept = (): void => removeLocal(KEPT_KEY)
