/**
 * The signed-in user, remembered in localStorage (id, username, display name:
 * nothing secret) so a cold start without network opens the app signed in.
 */
import type { PublicUser } from '@parley/schemas'
import { readLocal, removeLocal, writeLocal } from './local-store.ts'

const KEY = 'parley:user'

export function rememberUser(user: PublicUser): void {
  const { id, username, displayName } = user
  writeLocal(KEY, JSON.stringify({ id, username, displayName }))
}

export function rememberedUser(): PublicUser | null {
  try {
    const v = JSON.parse(readLocal(KEY) ?? 'null') as Partial<PublicUser> | null
    if (typeof v?.id !== 'string' || typeof v.username !== 'string') return null
    return { id: v.id, username: v.username, displayName: v.displayName ?? v.username }
  } catch {
    return null
  }
}

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
