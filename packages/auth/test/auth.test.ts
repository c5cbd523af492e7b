/**
 * createAuth against MongoDB (the real one at MONGODB_URL, else the embedded
 * server) and the real in-process bus.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { sha256 } from '@oslojs/crypto/sha2'
import { ObjectId } from '@parley/db'
import type { ResyncCause } from '@parley/bus'
import { openTestDatabase } from '@parley/db/testing'
import {
  AuthError,
  INVALID_CREDENTIALS,
  PROFILES_CHANNEL,
  USERNAME_TAKEN,
  WRONG_PASSWORD,
  type AuthInstance,
} from '../src/index.ts'
import { eventually, startHarness, uniqueName, type Harness } from './helpers.ts'

const TOKEN_RE = /^[a-z2-7]{24}\.[a-z2-7]{32}$/
const IP = { ip: '192.0.2.1' }

let h: Harness
let auth: AuthInstance

beforeAll(async () => {
  h = await startHarness()
  auth = h.auth()
})
afterAll(async () => {
  await h?.close()
})
// Expiry tests fake Date (see fakeDate); whatever happens in them, the next test gets the real clock.
afterEach(() => {
  vi.useRealTimers()
})

/**
 * Deadlines are read from Date.now(), so expiry tests fake Date only: a stall
 * on a loaded machine cannot carry a session past a deadline, and the MongoDB
 * driver's timers (and the watcher's setTimeout) stay real.
 */
function fakeDate(): void {
  vi.useFakeTimers({ toFake: ['Date'] })
}
const advance = (ms: number): void => {
  vi.setSystemTime(Date.now() + ms)
}

/** Waits for a watch to slide the stored idle deadline a full idle timeout past now (capped at the absolute one). */
async function slidToNow(sessionId: string, idleTimeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      const s = await h.database.collections.sessions.findOne({ _id: sessionId })
      return !!s && s.idleExpiresAt.getTime() >= Math.min(Date.now() + idleTimeoutMs, s.absoluteExpiresAt.getTime())
    },
    3000,
    'the watch to slide the idle deadline',
  )
}

async function authError(p: Promise<unknown>): Promise<AuthError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(AuthError)
  return err as AuthError
}

/** Every string inside a document (any depth), and the bytes of every binary, as text. */
function everyValue(doc: unknown): string[] {
  const out: string[] = []
  const walk = (v: unknown): void => {
    if (v === null || v === undefined) return
    if (typeof v === 'string') out.push(v)
    else if (v instanceof Date || typeof v !== 'object') out.push(String(v))
    else if (v instanceof Uint8Array)
      out.push(
        Buffer.from(v).toString('latin1'),
        Buffer.from(v).toString('hex'),
        Buffer.from(v).toString('base64'),
      )
    else if ('_bsontype' in v && (v as { _bsontype: string })._bsontype === 'Binary')
      walk((v as unknown as { value(): Uint8Array }).value())
    else if (v instanceof ObjectId) out.push(v.toHexString())
    else
      for (const [k, x] of Object.entries(v)) {
        out.push(k)
        walk(x)
      }
  }
  walk(doc)
  return out
}

describe('register and login', () => {
  it('issues a well-formed token, and a new one at every login', async () => {
    const username = uniqueName()
    const reg = await auth.register({ username, password: 'password one' })
    expect(reg.token).toMatch(TOKEN_RE)
    expect(reg.user.username).toBe(username)
    expect(reg.user.displayName).toBe(username)
    expect(reg.session._id).toBe(reg.token.split('.')[0])
    const a = await auth.login({ username, password: 'password one' }, IP)
    const b = await auth.login({ username: username.toUpperCase(), password: 'password one' }, IP)
    expect(new Set([reg.token, a.token, b.token]).size).toBe(3)
    expect(a.user._id.equals(reg.user._id)).toBe(true)
    for (const t of [reg.token, a.token, b.token])
      expect((await auth.validate(t))?.user._id.equals(reg.user._id)).toBe(true)
  })

  it('keeps the display name and treats usernames case-insensitively', async () => {
    const username = uniqueName('Mixed')
    const reg = await auth.register({
      username,
      password: 'password one',
      displayName: '  Ada L.  ',
    })
    expect(reg.user.username).toBe(username.toLowerCase())
    expect(reg.user.displayName).toBe('Ada L.')
    const err = await authError(
      auth.register({ username: username.toLowerCase(), password: 'another password' }),
    )
    expect(err.code).toBe('CONFLICT')
    expect(err.message).toBe(USERNAME_TAKEN)
  })

  it('answers a wrong password and an unknown user with the same UNAUTHORIZED', async () => {
    const username = uniqueName()
    await auth.register({ username, password: 'right password' })
    const wrong = await authError(auth.login({ username, password: 'wrong password' }, IP))
    const unknown = await authError(
      auth.login({ username: uniqueName('nobody'), password: 'right password' }, IP),
    )
    expect(wrong.code).toBe('UNAUTHORIZED')
    expect(unknown.code).toBe('UNAUTHORIZED')
    expect(wrong.message).toBe(INVALID_CREDENTIALS)
    expect(unknown.message).toBe(wrong.message)
  })

  it('spends an Argon2 verification on unknown users too (no telling who exists by timing)', async () => {
    // OWASP costs: a verification lasts tens of ms, so sampling every turn of the event loop sees it.
    const slow = h.auth({ hash: undefined })
    const hashingDuring = async (work: Promise<unknown>): Promise<number> => {
      let peak = 0
      let done = false
      const sample = (): void => {
        peak = Math.max(peak, slow.hasher.stats().running)
        if (!done) setImmediate(sample)
      }
      sample()
      await work.catch(() => undefined)
      done = true
      return peak
    }
    const ghost = () => slow.login({ username: uniqueName('ghost'), password: 'wrong password' }, IP)
    // The first unknown name also computes the dummy hash: that hashing must not count as the verification.
    await ghost().catch(() => undefined)
    expect(await hashingDuring(ghost())).toBe(1)
  })

  it('lets exactly one of 50 concurrent registrations of one name win', async () => {
    const username = uniqueName('race')
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        auth.register({
          username: i % 2 ? username : username.toUpperCase(),
          password: `password ${i}`,
        }),
      ),
    )
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(49)
    for (const r of lost) {
      expect(r.reason).toBeInstanceOf(AuthError)
      expect((r.reason as AuthError).code).toBe('CONFLICT')
    }
    expect(await h.database.collections.users.countDocuments({ username })).toBe(1)
  })

  it('bounds concurrent hashes', async () => {
    const bounded = h.auth({ maxConcurrentHashes: 2 })
    let peak = 0
    const sampler = setInterval(() => (peak = Math.max(peak, bounded.hasher.stats().running)), 1)
    await Promise.all(
      Array.from({ length: 12 }, () =>
        bounded.register({ username: uniqueName('burst'), password: 'burst password' }),
      ),
    )
    clearInterval(sampler)
    expect(peak).toBeGreaterThan(0)
    expect(peak).toBeLessThanOrEqual(2)
  })

  it('past the hash queue, a sign-up is refused at once as busy and stores nothing', async () => {
    // OWASP-cost hashes (tens of ms): every sign-up reaches the queue before the first hash ends.
    const bounded = h.auth({ hash: undefined, maxConcurrentHashes: 1, maxQueuedHashes: 2 })
    const names = Array.from({ length: 8 }, () => uniqueName('queue'))
    const results = await Promise.allSettled(names.map((username) => bounded.register({ username, password: 'queued password' })))
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    // One hashing, two waiting: the other five are turned away.
    expect(refused).toHaveLength(5)
    for (const r of refused) expect((r.reason as AuthError).code).toBe('TOO_MANY_REQUESTS')
    expect(await h.database.collections.users.countDocuments({ username: { $in: names } })).toBe(3)
  })
})

describe('what the database holds', () => {
  it('no raw token: only SHA-256(secret) as binary', async () => {
    const username = uniqueName()
    const reg = await auth.register({ username, password: 'password one' })
    const login = await auth.login({ username, password: 'password one' }, IP)
    const docs = await h.database.db.collection('sessions').find({ userId: reg.user._id }).toArray()
    expect(docs).toHaveLength(2)
    for (const issued of [reg, login]) {
      const [id, secret] = issued.token.split('.') as [string, string]
      const doc = docs.find((d) => String(d._id) === id)
      expect(doc).toBeDefined()
      const values = everyValue(doc)
      for (const v of values) {
        expect(v).not.toContain(secret)
        expect(v).not.toContain(issued.token)
      }
      const stored = (doc!.secretHash as { value(): Uint8Array }).value()
      expect(Buffer.from(stored)).toEqual(Buffer.from(sha256(new TextEncoder().encode(secret))))
    }
  })

  it('no plain password: an $argon2id$ hash with m=19456,t=2,p=1 by default', async () => {
    const owasp = h.auth({ hash: undefined })
    const username = uniqueName()
    const password = 'a very secret passphrase'
    await owasp.register({ username, password })
    const cheap = uniqueName()
    await auth.register({ username: cheap, password })
    const doc = await h.database.db.collection('users').findOne({ username })
    expect(doc).not.toBeNull()
    expect(Object.keys(doc!).sort()).toEqual([
      '_id',
      'createdAt',
      'displayName',
      'passwordHash',
      'username',
    ])
    expect(doc!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    const all = await h.database.db.collection('users').find({}).toArray()
    for (const u of all) {
      expect(u.passwordHash).toMatch(/^\$argon2id\$/)
      for (const v of everyValue(u)) expect(v).not.toContain(password)
    }
  })

  it('the hash stays there: a session (what every request\'s context holds) carries the user without it', async () => {
    const username = uniqueName()
    const password = 'correct horse battery'
    const registered = await auth.register({ username, password })
    const loggedIn = await auth.login({ username, password }, IP)
    const validated = await auth.validate(loggedIn.token)
    for (const s of [registered, loggedIn, validated!]) {
      expect(Object.keys(s.user).sort()).toEqual(['_id', 'createdAt', 'displayName', 'username'])
      expect(s.user.username).toBe(username)
    }
  })
})

describe('sessions', () => {
  it('validate() rejects unknown, malformed and wrong-secret tokens without deleting the session', async () => {
    const reg = await auth.register({ username: uniqueName(), password: 'password one' })
    const [id, secret] = reg.token.split('.') as [string, string]
    const forged = `${id}.${secret.startsWith('a') ? 'b' : 'a'}${secret.slice(1)}`
    for (const t of ['', 'nonsense', forged, `${id}.${secret}x`, reg.token.toUpperCase()])
      expect(await auth.validate(t)).toBeNull()
    expect(await auth.validate(reg.token)).not.toBeNull()
    expect(await h.database.collections.sessions.countDocuments({ _id: id })).toBe(1)
  })

  it('readToken() + validate() resolve the cookie sent back', async () => {
    const reg = await auth.register({ username: uniqueName(), password: 'password one' })
    const setCookie = auth.sessionCookie(reg.token, reg.session.absoluteExpiresAt)
    const pair = setCookie.split(';')[0]!
    const token = auth.readToken(`theme=dark; ${pair}; other=1`)
    expect(token).toBe(reg.token)
    expect((await auth.validate(token!))?.user._id.equals(reg.user._id)).toBe(true)
  })

  it('expire after the idle timeout, which slides forward with use', async () => {
    fakeDate()
    const a = h.auth({ idleTimeoutMs: 600, absoluteTimeoutMs: 60_000, touchIntervalMs: 100 })
    const reg = await a.register({ username: uniqueName(), password: 'password one' })
    // Used every 250 ms for 1.5 s: well past the 600 ms idle timeout, still valid.
    for (let i = 0; i < 6; i++) {
      advance(250)
      expect(await a.validate(reg.token)).not.toBeNull()
    }
    // Then left unused for the idle timeout.
    advance(600)
    expect(await a.validate(reg.token)).toBeNull()
    // An expired session is deleted.
    expect(await h.database.collections.sessions.countDocuments({ _id: reg.session._id })).toBe(0)
  })

  it('writes the slid deadline at most once per touch interval', async () => {
    const a = h.auth({ idleTimeoutMs: 60_000, touchIntervalMs: 60_000 })
    const reg = await a.register({ username: uniqueName(), password: 'password one' })
    const before = await h.database.collections.sessions.findOne({ _id: reg.session._id })
    for (let i = 0; i < 5; i++) await a.validate(reg.token)
    const after = await h.database.collections.sessions.findOne({ _id: reg.session._id })
    expect(after!.lastSeenAt.getTime()).toBe(before!.lastSeenAt.getTime())
    expect(after!.idleExpiresAt.getTime()).toBe(before!.idleExpiresAt.getTime())
  })

  it('expire at the absolute lifetime however much they are used', async () => {
    fakeDate()
    const a = h.auth({ idleTimeoutMs: 60_000, absoluteTimeoutMs: 700, touchIntervalMs: 50 })
    const reg = await a.register({ username: uniqueName(), password: 'password one' })
    expect(reg.session.absoluteExpiresAt.getTime() - reg.session.createdAt.getTime()).toBe(700)
    expect(reg.session.idleExpiresAt.getTime()).toBeLessThanOrEqual(
      reg.session.absoluteExpiresAt.getTime(),
    )
    // Used every 100 ms, up to its last millisecond.
    for (let i = 0; i < 6; i++) {
      advance(100)
      expect(await a.validate(reg.token)).not.toBeNull()
    }
    advance(99)
    expect(await a.validate(reg.token)).not.toBeNull()
    advance(1)
    expect(await a.validate(reg.token)).toBeNull()
  })

  it('logout deletes the session', async () => {
    const reg = await auth.register({ username: uniqueName(), password: 'password one' })
    await auth.logout(reg.session._id)
    expect(await auth.validate(reg.token)).toBeNull()
    expect(await h.database.collections.sessions.countDocuments({ _id: reg.session._id })).toBe(0)
    await auth.logout(reg.session._id) // twice is harmless
  })

  it('logoutAll deletes every session of that user and no one else’s', async () => {
    const username = uniqueName()
    const reg = await auth.register({ username, password: 'password one' })
    const second = await auth.login({ username, password: 'password one' }, IP)
    const other = await auth.register({ username: uniqueName(), password: 'password two' })
    await auth.logoutAll(reg.user._id.toHexString())
    expect(await auth.validate(reg.token)).toBeNull()
    expect(await auth.validate(second.token)).toBeNull()
    expect(await h.database.collections.sessions.countDocuments({ userId: reg.user._id })).toBe(0)
    expect(await auth.validate(other.token)).not.toBeNull()
  })

  it('prunes expired sessions', async () => {
    const a = h.auth({ idleTimeoutMs: 100, absoluteTimeoutMs: 60_000 })
    const reg = await a.register({ username: uniqueName(), password: 'password one' })
    await sleep(150)
    expect(await a.pruneExpired()).toBeGreaterThanOrEqual(1)
    expect(await h.database.collections.sessions.countDocuments({ _id: reg.session._id })).toBe(0)
  })
})

describe('revocation', () => {
  it('tells the watcher when its session is logged out, and not for another session', async () => {
    const username = uniqueName()
    const one = await auth.register({ username, password: 'password one' })
    const two = await auth.login({ username, password: 'password one' }, IP)
    const fired: string[] = []
    const s1 = (await auth.validate(one.token))!
    const s2 = (await auth.validate(two.token))!
    await auth.watchRevocation(s1, () => fired.push('one'))
    await auth.watchRevocation(s2, () => fired.push('two'))
    await auth.logout(two.session._id)
    await eventually(() => fired.includes('two'), 3000, 'revocation of two')
    await sleep(50)
    expect(fired).toEqual(['two'])
  })

  it('publishes session.revoked on the user channel (seen by events.user)', async () => {
    const reg = await auth.register({ username: uniqueName(), password: 'password one' })
    const seen: unknown[] = []
    const unsub = await h.bus.subscribe(`user:${reg.user._id.toHexString()}`, (p) => seen.push(p))
    await auth.logout(reg.session._id)
    await auth.logoutAll(reg.user._id.toHexString())
    await eventually(() => seen.length === 2)
    expect(seen).toEqual([
      { type: 'session.revoked', sessionIds: [reg.session._id] },
      { type: 'session.revoked', sessionIds: 'all' },
    ])
    expect(Object.keys(seen[0] as object)[0]).toBe('type')
    unsub()
  })

  it('fires for logoutAll and once only; stop() ends the watch', async () => {
    const username = uniqueName()
    const a = await auth.register({ username, password: 'password one' })
    const b = await auth.login({ username, password: 'password one' }, IP)
    let countA = 0
    let countB = 0
    await auth.watchRevocation(a, () => countA++)
    const stopB = await auth.watchRevocation(b, () => countB++)
    stopB()
    await auth.logoutAll(a.user._id.toHexString())
    await auth.logoutAll(a.user._id.toHexString())
    await eventually(() => countA > 0)
    await sleep(50)
    expect(countA).toBe(1)
    expect(countB).toBe(0)
  })

  it('fires at once for a session revoked between validation and the watch (logout, or logoutAll of the user)', async () => {
    // A socket validates its session, then starts watching: a revocation heard in between must not be missed.
    const one = await auth.register({ username: uniqueName(), password: 'password one' })
    await auth.logout(one.session._id)
    await sleep(20)
    let firedOne = false
    await auth.watchRevocation(one, () => (firedOne = true))
    expect(firedOne).toBe(true)

    const name = uniqueName()
    const two = await auth.register({ username: name, password: 'password one' })
    await auth.logoutAll(two.user._id.toHexString())
    await sleep(20)
    let firedTwo = false
    await auth.watchRevocation(two, () => (firedTwo = true))
    expect(firedTwo).toBe(true)

    // A session opened after that logoutAll is not caught by it.
    const three = await auth.login({ username: name, password: 'password one' }, IP)
    let firedThree = false
    const stop = await auth.watchRevocation(three, () => (firedThree = true))
    expect(firedThree).toBe(false)
    stop()
  })

  it('fires when the session reaches its absolute lifetime', async () => {
    const a = h.auth({ absoluteTimeoutMs: 500 })
    const reg = await a.register({ username: uniqueName(), password: 'password one' })
    let firedAt = 0
    await a.watchRevocation(reg, () => (firedAt = Date.now()))
    await eventually(() => firedAt > 0, 3000, 'expiry')
    expect(firedAt).toBeGreaterThanOrEqual(reg.session.absoluteExpiresAt.getTime())
  })

  it('keeps sliding a watched session whatever the touch interval, then ends it at the absolute lifetime', async () => {
    fakeDate()
    const a = h.auth({ idleTimeoutMs: 400, absoluteTimeoutMs: 1500, touchIntervalMs: 60_000 })
    const reg = await a.register({ username: uniqueName(), password: 'password one' })
    let firedAt = 0
    await a.watchRevocation(reg, () => (firedAt = Date.now()))
    // Three idle timeouts on, unvalidated: only the watch moves the deadline (validate() would not for an hour).
    for (let i = 0; i < 4; i++) {
      advance(300)
      await slidToNow(reg.session._id, 400)
    }
    advance(reg.session.absoluteExpiresAt.getTime() - 1 - Date.now())
    expect(firedAt).toBe(0)
    expect(await a.validate(reg.token)).not.toBeNull()
    advance(1)
    await eventually(() => firedAt > 0, 3000, 'absolute expiry')
    expect(firedAt).toBeGreaterThanOrEqual(reg.session.absoluteExpiresAt.getTime())
  })

  it('keeps a watched (open) session alive past the idle timeout, until deleted behind the bus’s back', async () => {
    fakeDate()
    const a = h.auth({ idleTimeoutMs: 400, touchIntervalMs: 100 })
    const reg = await a.register({ username: uniqueName(), password: 'password one' })
    let fired = false
    await a.watchRevocation(reg, () => (fired = true))
    // Three idle timeouts on without a validate(): the open watch alone keeps it alive.
    for (let i = 0; i < 4; i++) {
      advance(300)
      await slidToNow(reg.session._id, 400)
    }
    expect(fired).toBe(false)
    expect(await a.validate(reg.token)).not.toBeNull()
    // Deleted without a bus message: the next timer check notices.
    await h.database.collections.sessions.deleteOne({ _id: reg.session._id })
    await eventually(() => fired, 3000, 'deleted session noticed')
  })
})

describe('a new display name', () => {
  it('an older change heard after a newer one (two nodes, one user, at once) does not undo it', async () => {
    const reg = await auth.register({ username: uniqueName(), password: 'password one', displayName: 'First' })
    const watched = (await auth.validate(reg.token))!
    await auth.watchRevocation(watched, () => {})
    const notice = (displayName: string, nameVersion: number) => ({
      type: 'profile.updated',
      user: { id: reg.user._id.toHexString(), username: reg.user.username, displayName },
      nameVersion,
    })
    h.bus.publish(PROFILES_CHANNEL, notice('Third', 3))
    h.bus.publish(PROFILES_CHANNEL, notice('Second', 2))
    await eventually(() => watched.user.displayName === 'Third', 3000, 'the newer name')
    await sleep(50)
    expect(watched.user.displayName).toBe('Third')
  })

  it("reaches the user's watched sessions on every node, one validated just before it and watched after it too, and the user channel", async () => {
    const otherNode = h.auth()
    const reg = await auth.register({ username: uniqueName(), password: 'password one', displayName: 'Old Name' })
    const second = await auth.login({ username: reg.user.username, password: 'password one' }, IP)
    const here = (await auth.validate(reg.token))!
    const there = (await otherNode.validate(second.token))!
    await auth.watchRevocation(here, () => {})
    await otherNode.watchRevocation(there, () => {})
    const late = (await otherNode.validate(second.token))! // read before the change, watched after it
    const seen: unknown[] = []
    const unsub = await h.bus.subscribe(`user:${reg.user._id.toHexString()}`, (p) => seen.push(p))

    const updated = await auth.setDisplayName(here, 'New Name')
    expect(updated.displayName).toBe('New Name')
    await eventually(() => there.user.displayName === 'New Name', 3000, 'the other node to hear it')
    expect(here.user.displayName).toBe('New Name')
    expect(late.user.displayName).toBe('Old Name')
    await otherNode.watchRevocation(late, () => {})
    expect(late.user.displayName).toBe('New Name')
    expect((await auth.validate(reg.token))!.user.displayName).toBe('New Name')
    await eventually(() => seen.length === 1)
    expect(seen).toEqual([{ type: 'profile.updated', user: { id: reg.user._id.toHexString(), username: reg.user.username, displayName: 'New Name' } }])
    unsub()
  })
})

describe('bus resync (the safety net for revocations the bus lost)', () => {
  it('after the bus lost messages, reads the watched users again: a name changed meanwhile reaches their sockets (not at a periodic resync)', async () => {
    const resync: ((cause: ResyncCause) => void)[] = []
    const a = h.auth({ bus: { ...h.bus, onResync: (handler) => (resync.push(handler), () => {}) } })
    const reg = await a.register({ username: uniqueName(), password: 'password one', displayName: 'Before' })
    const other = await a.register({ username: uniqueName(), password: 'password one', displayName: 'Other' })
    const [mine, theirs] = [(await a.validate(reg.token))!, (await a.validate(other.token))!]
    await a.watchRevocation(mine, () => {})
    await a.watchRevocation(theirs, () => {})
    // Changed behind the bus's back (its message lost).
    await h.database.collections.users.updateOne({ _id: reg.user._id }, { $set: { displayName: 'After' }, $inc: { nameVersion: 1 } })
    for (const handler of resync) handler('interval')
    await sleep(100)
    expect(mine.user.displayName).toBe('Before')
    for (const handler of resync) handler('reconnected')
    await eventually(() => mine.user.displayName === 'After', 3000, 'the new name read again')
    expect(theirs.user.displayName).toBe('Other')
  })

  it('re-checks every watched session, a batch at a time, and fires for those gone from the database', async () => {
    // The bus's resync signal, fired by hand here (Redis fires it on reconnects and every ~30 s).
    const resync: ((cause: ResyncCause) => void)[] = []
    const a = h.auth({ bus: { ...h.bus, onResync: (handler) => (resync.push(handler), () => {}) } })
    const watched = await Promise.all(Array.from({ length: 250 }, () => a.register({ username: uniqueName(), password: 'password one' })))
    const fired = new Set<number>()
    await Promise.all(watched.map((reg, i) => a.watchRevocation(reg, () => fired.add(i))))
    // Deleted without any bus message, across the batches of the re-check.
    const gone = [3, 120, 249]
    await h.database.collections.sessions.deleteMany({ _id: { $in: gone.map((i) => watched[i]!.session._id) } })
    const queries: number[] = []
    const find = h.database.collections.sessions.find.bind(h.database.collections.sessions)
    h.database.collections.sessions.find = ((filter: { _id?: { $in?: unknown[] } }, ...rest: never[]) => {
      if (filter._id?.$in) queries.push(filter._id.$in.length)
      return find(filter as never, ...rest)
    }) as typeof find
    try {
      for (const handler of resync) handler('interval')
      await eventually(() => fired.size === gone.length, 5000, 'deleted sessions noticed')
    } finally {
      h.database.collections.sessions.find = find
    }
    expect([...fired].sort((x, y) => x - y)).toEqual(gone)
    expect(queries.length).toBeGreaterThanOrEqual(3)
    expect(Math.max(...queries)).toBeLessThanOrEqual(100)
  })
})

describe('login rate limits', () => {
  it('refuse an account after repeated failures, with a retry hint, while others still log in', async () => {
    const a = h.auth({ loginLimits: { perUser: 3, perIp: 1000, windowMs: 60_000 } })
    const victim = uniqueName()
    const bystander = uniqueName()
    await a.register({ username: victim, password: 'right password' })
    await a.register({ username: bystander, password: 'right password' })
    for (let i = 0; i < 3; i++)
      expect(
        (await authError(a.login({ username: victim, password: 'wrong password' }, IP))).code,
      ).toBe('UNAUTHORIZED')
    const limited = await authError(a.login({ username: victim, password: 'right password' }, IP))
    expect(limited.code).toBe('TOO_MANY_REQUESTS')
    expect(limited.retryAfterMs).toBeGreaterThan(0)
    expect(limited.retryAfterMs).toBeLessThanOrEqual(60_000)
    // The same limit applies whatever the case of the name.
    expect(
      (await authError(a.login({ username: victim.toUpperCase(), password: 'right password' }, IP)))
        .code,
    ).toBe('TOO_MANY_REQUESTS')
    await expect(
      a.login({ username: bystander, password: 'right password' }, IP),
    ).resolves.toBeDefined()
  })

  it('a successful login resets the per-user count', async () => {
    const a = h.auth({ loginLimits: { perUser: 3, perIp: 1000, windowMs: 60_000 } })
    const name = uniqueName()
    await a.register({ username: name, password: 'right password' })
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++)
        await authError(a.login({ username: name, password: 'wrong password' }, IP))
      await expect(
        a.login({ username: name, password: 'right password' }, IP),
      ).resolves.toBeDefined()
    }
  })

  it('limit attempts per client IP across accounts', async () => {
    const a = h.auth({ loginLimits: { perUser: 1000, perIp: 4, windowMs: 60_000 } })
    const ip = { ip: '198.51.100.7' }
    for (let i = 0; i < 4; i++)
      expect(
        (await authError(a.login({ username: uniqueName('spray'), password: 'guess guess' }, ip)))
          .code,
      ).toBe('UNAUTHORIZED')
    const limited = await authError(
      a.login({ username: uniqueName('spray'), password: 'guess guess' }, ip),
    )
    expect(limited.code).toBe('TOO_MANY_REQUESTS')
    expect(limited.retryAfterMs).toBeGreaterThan(0)
    // Another address is unaffected.
    expect(
      (
        await authError(
          a.login(
            { username: uniqueName('spray'), password: 'guess guess' },
            { ip: '198.51.100.8' },
          ),
        )
      ).code,
    ).toBe('UNAUTHORIZED')
  })
})

describe('lookups in a crowd (LOOKUP_BATCH_WINDOW_MS)', () => {
  it("validations arriving 30 ms apart after a shared read share the next session and user reads, under the database's window", async () => {
    // The finds that reach MongoDB, by collection, from a database opened with a
    // 500-ms window: wide enough that a slow CI machine's pauses stay inside it.
    const reads = { sessions: 0, users: 0 }
    const database = await openTestDatabase(
      (name, command) => {
        const collection: unknown = command.find
        if (name === 'find' && (collection === 'sessions' || collection === 'users')) reads[collection]++
      },
      { lookupWindowMs: 500 },
    )
    const crowd = h.auth({ database })
    try {
      const tokens: string[] = []
      for (let i = 0; i < 4; i++) tokens.push((await crowd.register({ username: uniqueName('crowd'), password: 'password one' })).token)
      reads.sessions = reads.users = 0
      const checked = tokens.slice(0, 2).map((t) => crowd.validate(t))
      for (const t of tokens.slice(2)) {
        await sleep(30)
        checked.push(crowd.validate(t))
      }
      expect((await Promise.all(checked)).every((v) => v !== null)).toBe(true)
      expect(reads).toEqual({ sessions: 2, users: 2 })
    } finally {
      crowd.close()
      await database.drop()
    }
  })
})

describe('changing the password', () => {
  it('with the current password: the new one signs in, the old one no longer does; every other session of the user ends, told by id, and this one and other users’ stay', async () => {
    const username = uniqueName()
    const here = await auth.register({ username, password: 'old password' })
    const lost = await auth.login({ username, password: 'old password' }, IP)
    const other = await auth.register({ username: uniqueName(), password: 'old password' })
    const fired: string[] = []
    await auth.watchRevocation((await auth.validate(here.token))!, () => fired.push('here'))
    await auth.watchRevocation((await auth.validate(lost.token))!, () => fired.push('lost'))
    const told: unknown[] = []
    const unsub = await h.bus.subscribe(`user:${here.user._id.toHexString()}`, (p) => told.push(p))

    await auth.changePassword(here, {
      currentPassword: 'old password',
      newPassword: 'new password',
    })

    expect(await auth.validate(here.token)).not.toBeNull()
    expect(await auth.validate(lost.token)).toBeNull()
    expect(await auth.validate(other.token)).not.toBeNull()
    await eventually(() => fired.includes('lost'), 3000, 'revocation of the other session')
    await eventually(() => told.length === 1, 3000, 'session.revoked on the user channel')
    expect(told).toEqual([{ type: 'session.revoked', sessionIds: [lost.session._id] }])
    await sleep(50)
    expect(fired).toEqual(['lost'])
    unsub()
    expect((await authError(auth.login({ username, password: 'old password' }, IP))).message).toBe(
      INVALID_CREDENTIALS,
    )
    await expect(auth.login({ username, password: 'new password' }, IP)).resolves.toBeDefined()
  })

  it('a wrong current password is FORBIDDEN and changes nothing; tries count against the per-user limit, and a right one resets it', async () => {
    const a = h.auth({ loginLimits: { perUser: 3, perIp: 1000, windowMs: 60_000 } })
    const username = uniqueName()
    const here = await a.register({ username, password: 'old password' })
    const elsewhere = await a.login({ username, password: 'old password' }, IP)
    const wrong = () =>
      authError(a.changePassword(here, { currentPassword: 'a guess', newPassword: 'new password' }))
    for (let i = 0; i < 2; i++) expect((await wrong()).message).toBe(WRONG_PASSWORD)
    expect((await wrong()).code).toBe('FORBIDDEN')
    const limited = await authError(
      a.changePassword(here, { currentPassword: 'old password', newPassword: 'new password' }),
    )
    expect(limited.code).toBe('TOO_MANY_REQUESTS')
    expect(limited.retryAfterMs).toBeGreaterThan(0)
    // Nothing changed: the old password still signs in, the other session still holds.
    expect(await a.validate(elsewhere.token)).not.toBeNull()
    await expect(a.login({ username, password: 'old password' }, IP)).resolves.toBeDefined()

    const b = h.auth({ loginLimits: { perUser: 3, perIp: 1000, windowMs: 60_000 } })
    const name = uniqueName()
    const mine = await b.register({ username: name, password: 'first password' })
    let current = 'first password'
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++)
        await authError(
          b.changePassword(mine, { currentPassword: 'a guess', newPassword: 'whatever it is' }),
        )
      const next = `password ${round}`
      await b.changePassword(mine, { currentPassword: current, newPassword: next })
      current = next
    }
    await expect(b.login({ username: name, password: current }, IP)).resolves.toBeDefined()
  })
})

describe("the user's sessions", () => {
  it('lists the live ones with the browser each signed in from, the most recently used first, and no one else’s', async () => {
    const username = uniqueName()
    const laptop = await auth.register(
      { username, password: 'password one' },
      { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0' },
    )
    const phone = await auth.login(
      { username, password: 'password one' },
      { ...IP, userAgent: `Mozilla/5.0 (Linux; Android 14) ${'x'.repeat(400)}` },
    )
    await auth.register({ username: uniqueName(), password: 'password two' })
    const listed = await auth.listSessions(laptop.user._id)
    expect(listed.map((s) => s._id).sort()).toEqual([laptop.session._id, phone.session._id].sort())
    const agents = Object.fromEntries(listed.map((s) => [s._id, s.userAgent]))
    expect(agents[laptop.session._id]).toBe('Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0')
    expect(agents[phone.session._id]).toHaveLength(256) // kept short
    await auth.logout(phone.session._id)
    expect((await auth.listSessions(laptop.user._id)).map((s) => s._id)).toEqual([laptop.session._id])
  })

  it('ends one of them: it no longer signs in and its watcher hears it; another user’s is refused and stays', async () => {
    const username = uniqueName()
    const here = await auth.register({ username, password: 'password one' })
    const lost = await auth.login({ username, password: 'password one' }, IP)
    const stranger = await auth.register({ username: uniqueName(), password: 'password two' })
    const fired: string[] = []
    await auth.watchRevocation((await auth.validate(lost.token))!, () => fired.push('lost'))
    expect(await auth.endSession(stranger.user._id, lost.session._id)).toBe(false)
    expect(await auth.validate(lost.token)).not.toBeNull()
    expect(await auth.endSession(here.user._id, lost.session._id)).toBe(true)
    expect(await auth.validate(lost.token)).toBeNull()
    expect(await auth.validate(here.token)).not.toBeNull()
    await eventually(() => fired.includes('lost'), 3000, 'revocation of the ended session')
    expect(await auth.endSession(here.user._id, lost.session._id)).toBe(false) // already gone
  })
})
