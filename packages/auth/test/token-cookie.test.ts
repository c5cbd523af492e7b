import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { sha256 } from '@oslojs/crypto/sha2'
import {
  generateSessionToken,
  parseSessionToken,
  SESSION_ID_BYTES,
  SESSION_SECRET_BYTES,
} from '../src/index.ts'
import { hashSecret, secretMatches } from '../src/token.ts'
import { Semaphore, SemaphoreFullError } from '../src/semaphore.ts'
import { readSessionCookie, serializeBlankCookie, serializeSessionCookie } from '../src/cookie.ts'

const TOKEN_RE = /^[a-z2-7]{24}\.[a-z2-7]{32}$/
const BASE32 = [...'abcdefghijklmnopqrstuvwxyz234567']

/** A well-formed token (drawn by fast-check, so a failure shrinks and replays). */
const tokenArb = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...BASE32), minLength: 24, maxLength: 24 }),
    fc.string({ unit: fc.constantFrom(...BASE32), minLength: 32, maxLength: 32 }),
  )
  .map(([id, secret]) => `${id}.${secret}`)
/** A well-formed token, or one with a character changed, added or removed: random strings alone almost never come near one. */
const nearTokenArb = fc.oneof(
  tokenArb,
  fc
    .tuple(
      tokenArb,
      fc.constantFrom('change', 'add', 'remove'),
      fc.nat(),
      // A base32 character (a change may leave the token well-formed), one just outside the alphabet, or any.
      fc.oneof(fc.constantFrom(...BASE32), fc.constantFrom(...'0189AZ.-_ ";='), fc.string({ minLength: 1, maxLength: 1 })),
    )
    .map(([token, how, n, ch]) => {
      const i = n % (token.length + 1)
      if (how === 'add') return token.slice(0, i) + ch + token.slice(i)
      const j = i % token.length
      return token.slice(0, j) + (how === 'change' ? ch : '') + token.slice(j + 1)
    }),
)

describe('session tokens', () => {
  it('are id.secret in lower-case base32 without padding, with ≥120-bit ids and ≥128-bit secrets', () => {
    expect(SESSION_ID_BYTES * 8).toBeGreaterThanOrEqual(120)
    expect(SESSION_SECRET_BYTES * 8).toBeGreaterThanOrEqual(128)
    for (let i = 0; i < 200; i++) {
      const t = generateSessionToken()
      expect(t.token).toMatch(TOKEN_RE)
      expect(t.token).toBe(`${t.id}.${t.secret}`)
      expect(t.secret.length * 5).toBeGreaterThanOrEqual(128)
      expect(t.id.length * 5).toBeGreaterThanOrEqual(120)
      expect(Buffer.from(t.secretHash)).toEqual(
        Buffer.from(sha256(new TextEncoder().encode(t.secret))),
      )
    }
  })

  it('never repeat and use the whole alphabet about evenly', () => {
    const seen = new Set<string>()
    const counts = new Map<string, number>()
    const n = 4000
    for (let i = 0; i < n; i++) {
      const { id, secret } = generateSessionToken()
      expect(seen.has(id) || seen.has(secret)).toBe(false)
      seen.add(id)
      seen.add(secret)
      // The last base32 character of each half carries padding bits; skip it.
      for (const ch of secret.slice(0, -1)) counts.set(ch, (counts.get(ch) ?? 0) + 1)
    }
    expect(counts.size).toBe(32)
    const expected = (n * 31) / 32
    for (const c of counts.values()) {
      expect(c).toBeGreaterThan(expected * 0.85)
      expect(c).toBeLessThan(expected * 1.15)
    }
  })

  it('parse only well-formed tokens', () => {
    const { token, id, secret } = generateSessionToken()
    expect(parseSessionToken(token)).toEqual({ id, secret })
    for (const bad of [
      '',
      '.',
      `${id}.`,
      `.${secret}`,
      `${id}${secret}`,
      `${id}.${secret}x`,
      token.toUpperCase(),
      `${id}.${secret.slice(0, -1)}1`,
      ` ${token}`,
      42,
      null,
      undefined,
      { $gt: '' },
    ]) {
      expect(parseSessionToken(bad)).toBeNull()
    }
    let parsed = 0
    let refused = 0
    fc.assert(
      fc.property(fc.oneof(nearTokenArb, fc.string({ maxLength: 80 })), (s) => {
        const result = parseSessionToken(s)
        // Exactly the well-formed strings parse, into their own two halves.
        expect(result !== null).toBe(TOKEN_RE.test(s))
        if (result) {
          parsed++
          expect(`${result.id}.${result.secret}`).toBe(s)
        } else refused++
      }),
      // Parsing is cheap: many runs reach more of a token's one-character neighbours.
      { numRuns: 2000 },
    )
    // Both answers were reached: a property whose inputs never parse checks nothing.
    expect(parsed).toBeGreaterThan(0)
    expect(refused).toBeGreaterThan(0)
  })

  it('compares secrets by hash', () => {
    const a = generateSessionToken()
    const b = generateSessionToken()
    expect(secretMatches(a.secret, a.secretHash)).toBe(true)
    expect(secretMatches(b.secret, a.secretHash)).toBe(false)
    expect(secretMatches(a.secret, hashSecret(a.secret).subarray(0, 31))).toBe(false)
  })
})

describe('cookies', () => {
  // The same functions createAuth() exposes as sessionCookie/blankCookie/readToken (checked in auth.test.ts).
  const make = (secure: boolean) => ({
    sessionCookie: (token: string, expiresAt: Date) =>
      serializeSessionCookie(secure, token, expiresAt),
    blankCookie: () => serializeBlankCookie(secure),
    readToken: (header: string | undefined) => readSessionCookie(secure, header),
  })

  it('are HttpOnly, SameSite=Lax, Path=/, without Domain, expiring with the session', () => {
    const auth = make(false)
    const { token } = generateSessionToken()
    const expires = new Date(Date.now() + 30 * 24 * 3600_000)
    const cookie = auth.sessionCookie(token, expires)
    const parts = cookie.split('; ')
    expect(parts[0]).toBe(`parley_session=${token}`)
    expect(parts).toContain('HttpOnly')
    expect(parts).toContain('SameSite=Lax')
    expect(parts).toContain('Path=/')
    expect(parts).not.toContain('Secure')
    expect(cookie).not.toMatch(/domain=/i)
    expect(parts).toContain(`Expires=${expires.toUTCString()}`)
    const maxAge = Number(parts.find((p) => p.startsWith('Max-Age='))!.slice(8))
    expect(Math.abs(maxAge - 30 * 24 * 3600)).toBeLessThanOrEqual(2)
  })

  it('use the __Host- prefix and Secure over https', () => {
    const auth = make(true)
    const { token } = generateSessionToken()
    const cookie = auth.sessionCookie(token, new Date(Date.now() + 60_000))
    expect(cookie.startsWith(`__Host-parley_session=${token}; `)).toBe(true)
    expect(cookie.split('; ')).toContain('Secure')
    expect(cookie.split('; ')).toContain('Path=/')
    expect(cookie).not.toMatch(/domain=/i)
    expect(auth.readToken(`__Host-parley_session=${token}`)).toBe(token)
    // The unprefixed name is not accepted when cookies are secure.
    expect(auth.readToken(`parley_session=${token}`)).toBeNull()
    const blank = auth.blankCookie()
    expect(blank.startsWith('__Host-parley_session=; ')).toBe(true)
    expect(blank.split('; ')).toContain('Secure')
  })

  it('are cleared with Max-Age=0', () => {
    const auth = make(false)
    const blank = auth.blankCookie()
    expect(blank.startsWith('parley_session=; ')).toBe(true)
    expect(blank.split('; ')).toContain('Max-Age=0')
    expect(blank.split('; ')).toContain('HttpOnly')
    expect(blank.split('; ')).toContain('Path=/')
  })

  it('are read robustly from a Cookie header', () => {
    const auth = make(false)
    const { token } = generateSessionToken()
    const other = generateSessionToken().token
    expect(auth.readToken(undefined)).toBeNull()
    expect(auth.readToken('')).toBeNull()
    expect(auth.readToken(`parley_session=${token}`)).toBe(token)
    expect(auth.readToken(`a=b; parley_session=${token}; c=d`)).toBe(token)
    expect(auth.readToken(`  parley_session = ${token} ;theme=dark`)).toBe(token)
    expect(auth.readToken(`parley_session="${token}"`)).toBe(token)
    expect(auth.readToken(`garbage;;=;==;parley_session;parley_session=${token}`)).toBe(token)
    expect(auth.readToken(`xparley_session=${other}; parley_session=${token}`)).toBe(token)
    expect(auth.readToken(`parley_session=nonsense; parley_session=${token}`)).toBe(token)
    expect(auth.readToken(`parley_session=${token}; parley_session=${other}`)).toBe(token)
    expect(auth.readToken('parley_session=')).toBeNull()
    expect(auth.readToken(`parley_session=${token}x`)).toBeNull()
    expect(auth.readToken(`parley_session=${token.toUpperCase()}`)).toBeNull()
    expect(auth.readToken(`other=${token}`)).toBeNull()
    let read = 0
    const headerArb = fc.oneof(
      fc.string({ maxLength: 200 }).map((header) => ({ header, sent: null })),
      fc
        .tuple(fc.string({ maxLength: 40 }), nearTokenArb, fc.string({ maxLength: 40 }))
        .map(([before, sent, after]) => ({ header: `${before}; parley_session=${sent}; ${after}`, sent })),
    )
    fc.assert(
      fc.property(headerArb, ({ header, sent }) => {
        const t = auth.readToken(header)
        if (t !== null) {
          read++
          expect(t).toMatch(TOKEN_RE)
          expect(header).toContain(t)
        }
        // A well-formed token under the cookie's name is found whatever surrounds it.
        if (sent !== null && TOKEN_RE.test(sent)) expect(t).toBe(sent)
      }),
    )
    // Some headers did carry a token: a property whose inputs never yield one checks nothing.
    expect(read).toBeGreaterThan(0)
  })
})

describe('Semaphore', () => {
  it('never runs more than max at once and runs everything', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }),
        async (max, delays) => {
          const gate = new Semaphore(max)
          let active = 0
          let peak = 0
          const results = await Promise.all(
            delays.map((d, i) =>
              gate
                .run(async () => {
                  active++
                  peak = Math.max(peak, active)
                  await sleep(d)
                  active--
                  if (i % 7 === 3) throw new Error('boom')
                  return i
                })
                .catch(() => -1),
            ),
          )
          expect(peak).toBeLessThanOrEqual(max)
          expect(results).toEqual(delays.map((_, i) => (i % 7 === 3 ? -1 : i)))
          expect(gate.running).toBe(0)
          expect(gate.pending).toBe(0)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('refuses work beyond its queue', async () => {
    const gate = new Semaphore(1, 1)
    let release!: () => void
    const first = gate.run(() => new Promise<void>((r) => (release = r)))
    const second = gate.run(async () => 'ok')
    await expect(gate.run(async () => 'no')).rejects.toBeInstanceOf(SemaphoreFullError)
    release()
    await first
    await expect(second).resolves.toBe('ok')
  })
})
