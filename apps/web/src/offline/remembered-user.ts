/**
 * The signed-in user, remembered in localStorage (id, username, display name:
 * nothing secret) so a cold start without network opens the app signed in.
 */
import type { PublicUser } from '@parley/schemas'

const KEY = 'parley:user'

export function rememberUser(user: PublicUser): void {
  const { id, username, displayName } = user
  try {
    localStorage.setItem(KEY, JSON.stringify({ id, username, displayName }))
  } catch {
    /* storage disabled: the app still works online */
  }
}

export function rememberedUser(): PublicUser | null {
  try {
    const raw = localStorage.getItem(KEY)
    if (!raw) return null
    const v = JSON.parse(raw) as Partial<PublicUser>
    if (typeof v.id !== 'string' || typeof v.username !== 'string') return null
    return { id: v.id, username: v.username, displayName: v.displayName ?? v.username }
  } catch {
    return null
  }
}

export function forgetUser(): void {
  try {
    localStorage.removeItem(KEY)
  } catch {
    /* ignore */
  }
}

const LOGOUT_KEY = 'parley:logout-pending'

/**
 * A sign-out the server has not confirmed (made offline): the HttpOnly
 * session cookie is still in the browser, and `auth.me` would sign the user
 * straight back in with it.
 */
export function markLogoutPending(): void {
  try {
    localStorage.setItem(LOGOUT_KEY, '1')
  } catch {
    /* storage disabled: the server session expires by itself */
  }
}

export function logoutPending(): boolean {
  try {
    return localStorage.getItem(LOGOUT_KEY) !== null
  } catch {
    return false
  }
}

export function clearLogoutPending(): void {
  try {
    localStorage.removeItem(LOGOUT_KEY)
  } catch {
    /* ignore */
  }
}
