/**
 * Session tokens, after the Lucia session guide: `<id>.<secret>`, both halves
 * from the CSPRNG, base32 (lower case, no padding). The id is the database
 * key; only SHA-256(secret) is stored, and compared in constant time.
 */
import { sha256 } from '@oslojs/crypto/sha2'
import { constantTimeEqual } from '@oslojs/crypto/subtle'
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding'

/** 15 bytes = 120 bits → 24 base32 characters. */
export const SESSION_ID_BYTES = 15
/** 20 bytes = 160 bits → 32 base32 characters (the guide asks for ≥ 120; the issue for ≥ 128). */
export const SESSION_SECRET_BYTES = 20

const ID_LENGTH = Math.ceil((SESSION_ID_BYTES * 8) / 5)
const SECRET_LENGTH = Math.ceil((SESSION_SECRET_BYTES * 8) / 5)
const TOKEN_RE = new RegExp(`^([a-z2-7]{${ID_LENGTH}})\\.([a-z2-7]{${SECRET_LENGTH}})$`)

function randomBase32(bytes: number): string {
  const buf = new Uint8Array(bytes)
  crypto.getRandomValues(buf)
  return encodeBase32LowerCaseNoPadding(buf)
}

export interface GeneratedToken {
  id: string
  secret: string
  token: string
  secretHash: Uint8Array
}

export function generateSessionToken(): GeneratedToken {
  const id = randomBase32(SESSION_ID_BYTES)
  const secret = randomBase32(SESSION_SECRET_BYTES)
  return { id, secret, token: `${id}.${secret}`, secretHash: hashSecret(secret) }
}

export function hashSecret(secret: string): Uint8Array {
  return sha256(new TextEncoder().encode(secret))
}

/** Splits a well-formed token; anything else (wrong type, length, alphabet) → null. */
export function parseSessionToken(token: unknown): { id: string; secret: string } | null {
  if (typeof token !== 'string' || token.length !== ID_LENGTH + 1 + SECRET_LENGTH) return null
  const m = TOKEN_RE.exec(token)
  return m ? { id: m[1]!, secret: m[2]! } : null
}

export function isWellFormedToken(token: string): boolean {
  return parseSessionToken(token) !== null
}

export function secretMatches(secret: string, storedHash: Uint8Array): boolean {
  return constantTimeEqual(hashSecret(secret), storedHash)
}
