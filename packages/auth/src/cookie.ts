/** The session cookie: HttpOnly, SameSite=Lax, Path=/, no Domain; `__Host-` + Secure over https. */
import { isWellFormedToken } from './token.ts'

export const COOKIE_NAME = 'parley_session'
export const SECURE_COOKIE_NAME = '__Host-parley_session'

export function cookieName(secure: boolean): string {
  return secure ? SECURE_COOKIE_NAME : COOKIE_NAME
}

function attributes(secure: boolean): string {
  return `HttpOnly; SameSite=Lax; Path=/${secure ? '; Secure' : ''}`
}

export function serializeSessionCookie(
  secure: boolean,
  token: string,
  expiresAt: Date,
  now = Date.now(),
): string {
  const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - now) / 1000))
  return `${cookieName(secure)}=${token}; ${attributes(secure)}; Max-Age=${maxAge}; Expires=${expiresAt.toUTCString()}`
}

export function serializeBlankCookie(secure: boolean): string {
  return `${cookieName(secure)}=; ${attributes(secure)}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`
}

/**
 * The session token from a Cookie header. Tolerates other cookies, stray
 * whitespace, quoted values and malformed pairs; when the name appears more
 * than once, the first well-formed token wins.
 */
export function readSessionCookie(
  secure: boolean,
  header: string | string[] | undefined,
): string | null {
  if (header === undefined) return null
  const raw = Array.isArray(header) ? header.join('; ') : header
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 16_384) return null
  const name = cookieName(secure)
  for (const pair of raw.split(';')) {
    const eq = pair.indexOf('=')
    if (eq < 0) continue
    if (pair.slice(0, eq).trim() !== name) continue
    let value = pair.slice(eq + 1).trim()
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1)
    if (isWellFormedToken(value)) return value
  }
  return null
}
