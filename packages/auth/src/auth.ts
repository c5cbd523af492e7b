/**
 * createAuth: accounts, sessions, revocation and login rate limits.
 *
 * Sessions follow the Lucia guide (lucia-auth.com, "Sessions" / basic API),
 * written directly on @oslojs: see token.ts. The session id is public-ish
 * (it keys the document), the secret never leaves the cookie, only its
 * SHA-256 is stored.
 */
import type { Bus } from '@parley/bus'
import {
  INDEX,
  isDuplicateKey,
  ObjectId,
  secretHashBytes,
  toPublicUser,
  type Database,
  type SessionDoc,
  type UserDoc,
  type UserRecord,
} from '@parley/db'
import { readSessionCookie, serializeBlankCookie, serializeSessionCookie } from './cookie.ts'
import { createPasswordHasher, OWASP_MIN_PARAMS, type HashParams } from './password.ts'
import { SemaphoreFullError } from './semaphore.ts'
import { generateSessionToken, parseSessionToken, secretMatches } from './token.ts'
import { AuthError, type Auth, type AuthenticatedSession, type IssuedSession } from './types.ts'

/** The parts of the bus auth uses. */
export type AuthBus = Pick<Bus, 'publish' | 'subscribe' | 'onResync' | 'rateLimiter'>

export interface AuthLogger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface LoginLimits {
  /** Attempts per username per window; a successful login resets the count, so in effect failures. */
  perUser: number
  /** Attempts per client IP per window (successes count too). */
  perIp: number
  windowMs: number
}

export interface CreateAuthOptions {
  database: Pick<Database, 'repos'>
  bus: AuthBus
  /** https deployment: `__Host-` cookie name and `Secure`. */
  secureCookies: boolean
  /** Argon2id costs; default OWASP's minimum (m=19456 KiB, t=2, p=1). Tests may lower them. */
  hash?: Partial<HashParams>
  /** Hashes computed at once; the rest queue. Default AUTH_DEFAULTS. */
  maxConcurrentHashes?: number
  /** Hashes allowed to wait for a slot before register/login answer TOO_MANY_REQUESTS. Default AUTH_DEFAULTS. */
  maxQueuedHashes?: number
  /** Inactivity timeout. Default AUTH_DEFAULTS (10 days). */
  idleTimeoutMs?: number
  /** Absolute lifetime. Default AUTH_DEFAULTS (30 days). */
  absoluteTimeoutMs?: number
  /** validate() writes the new idle deadline at most this often per session. Default min(1 h, idle / 4). */
  touchIntervalMs?: number
  /** How often expired sessions are purged from the database (0 = never). Default 1 h. */
  pruneIntervalMs?: number
  loginLimits: LoginLimits
  log?: AuthLogger
}

/** The bus message on `user:<id>` that revokes sessions. Also a valid UserEvent (`type` first). */
export interface SessionRevokedMessage {
  type: 'session.revoked'
  sessionIds: string[] | 'all'
}

/** The bus message on `user:<id>` that tells the user's streams their new name. Also a valid UserEvent. */
export interface ProfileUpdatedMessage {
  type: 'profile.updated'
  user: ReturnType<typeof toPublicUser>
}

export const INVALID_CREDENTIALS = 'Invalid username or password'
export const USERNAME_TAKEN = 'That username is taken'
export const WRONG_PASSWORD = 'Your current password is not right'
/** How much of a User-Agent a session keeps (enough to name the browser and system). */
const USER_AGENT_MAX = 256

const DAY = 24 * 60 * 60_000

/** Defaults of createAuth's options, and of the server's MAX_*_HASHES and SESSION_*_DAYS. */
export const AUTH_DEFAULTS = {
  maxConcurrentHashes: 4,
  maxQueuedHashes: 1000,
  idleTimeoutDays: 10,
  absoluteTimeoutDays: 30,
} as const

/** setTimeout's ceiling (~24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface AuthInstance extends Auth {
  /** Deletes expired sessions now; returns how many. */
  pruneExpired(): Promise<number>
  /** Stops timers and watchers (does not close the database or bus). */
  close(): void
  readonly hasher: { stats(): { running: number; pending: number } }
}

export function userChannel(userId: string): string {
  return `user:${userId}`
}

/**
 * Every revocation also goes to this one channel, which each node subscribes
 * to once: watching a session then costs no Redis command, and a crowd of
 * sockets opening at once costs no SUBSCRIBE each. Revocations are rare, so
 * every node hearing all of them is cheap.
 */
export const REVOCATIONS_CHANNEL = 'auth:revocations'
interface RevocationNotice extends SessionRevokedMessage {
  userId: string
}
function isRevocationNotice(payload: unknown): payload is RevocationNotice {
  if (!payload || typeof payload !== 'object') return false
  const p = payload as Partial<RevocationNotice>
  return p.type === 'session.revoked' && typeof p.userId === 'string' && (p.sessionIds === 'all' || Array.isArray(p.sessionIds))
}
/**
 * New display names go to every node on this one channel, as revocations do:
 * a socket's context holds its user from when it opened, and what it sends
 * from now on (a message's author) must carry the new name. `nameVersion`
 * (the user's count of changes) keeps an older change heard late from
 * undoing a newer one.
 */
export const PROFILES_CHANNEL = 'auth:profiles'
export interface ProfileNotice extends ProfileUpdatedMessage {
  nameVersion: number
}
function isProfileNotice(payload: unknown): payload is ProfileNotice {
  if (!payload || typeof payload !== 'object') return false
  const p = payload as Partial<ProfileNotice>
  return p.type === 'profile.updated' && typeof p.user?.id === 'string' && typeof p.user.displayName === 'string' && typeof p.nameVersion === 'number'
}
/** Writes a name into a session's user unless the one it holds is newer (the same change twice is harmless). */
function rename(user: UserRecord, displayName: string, nameVersion: number): void {
  if ((user.nameVersion ?? 0) > nameVersion) return
  user.displayName = displayName
  user.nameVersion = nameVersion
}
/** How long a revocation or a new name is remembered, for a watch that starts just after it went by. */
const RECENTLY_HEARD_MS = 60_000

/** What was heard lately, by key (with when), forgotten after RECENTLY_HEARD_MS. */
function recentlyHeard<V>() {
  const heard = new Map<string, { value: V; at: number }>()
  return {
    note(key: string, value: V, at: number): void {
      heard.delete(key) // re-inserted last: insertion order stays time order
      heard.set(key, { value, at })
      for (const [k, e] of heard) {
        if (e.at > at - RECENTLY_HEARD_MS) break
        heard.delete(k)
      }
    },
    get: (key: string) => heard.get(key),
  }
}
/** Sessions per query when re-checking every watched session (see recheckWatched). */
const RECHECK_BATCH = 100

interface Watcher {
  sessionId: string
  userId: string
  /** The watched session as the socket's context holds it (a new display name is written into its user). */
  authenticated: AuthenticatedSession
  fire(): void
  stop(): void
}

export function createAuth(opts: CreateAuthOptions): AuthInstance {
  const { bus, secureCookies, loginLimits } = opts
  const log: AuthLogger = opts.log ?? { info() {}, warn() {}, error() {} }
  const idleTimeoutMs = opts.idleTimeoutMs ?? AUTH_DEFAULTS.idleTimeoutDays * DAY
  const absoluteTimeoutMs = opts.absoluteTimeoutMs ?? AUTH_DEFAULTS.absoluteTimeoutDays * DAY
  const touchIntervalMs =
    opts.touchIntervalMs ?? Math.min(60 * 60_000, Math.floor(idleTimeoutMs / 4))
  const hasher = createPasswordHasher(
    { ...OWASP_MIN_PARAMS, ...opts.hash },
    opts.maxConcurrentHashes ?? AUTH_DEFAULTS.maxConcurrentHashes,
    opts.maxQueuedHashes ?? AUTH_DEFAULTS.maxQueuedHashes,
  )
  const { users, sessions } = opts.database.repos

  const busy = (): AuthError =>
    new AuthError('TOO_MANY_REQUESTS', 'The server is busy, try again shortly', 1000)
  async function gated<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof SemaphoreFullError) throw busy()
      throw err
    }
  }

  async function issue(user: UserDoc, userAgent?: string): Promise<IssuedSession> {
    const { id, token, secretHash } = generateSessionToken()
    const now = Date.now()
    const absoluteExpiresAt = new Date(now + absoluteTimeoutMs)
    const session = await sessions.insert({
      id,
      secretHash,
      userId: user._id,
      createdAt: new Date(now),
      idleExpiresAt: new Date(Math.min(now + idleTimeoutMs, absoluteExpiresAt.getTime())),
      absoluteExpiresAt,
      userAgent: userAgent?.slice(0, USER_AGENT_MAX),
    })
    const { passwordHash: _, ...record } = user
    return { session, user: record, token }
  }

  const expired = (s: SessionDoc, now: number): boolean =>
    now >= s.idleExpiresAt.getTime() || now >= s.absoluteExpiresAt.getTime()

  /** Moves the idle deadline forward (capped at the absolute one). */
  async function slide(s: SessionDoc, now: number): Promise<SessionDoc> {
    const lastSeenAt = new Date(now)
    const idleExpiresAt = new Date(Math.min(now + idleTimeoutMs, s.absoluteExpiresAt.getTime()))
    await sessions.touch(s._id, lastSeenAt, idleExpiresAt)
    return { ...s, lastSeenAt, idleExpiresAt }
  }

  // ---- revocation watchers -------------------------------------------------
  const watchers = new Map<string, Set<Watcher>>()
  let closed = false
  /** Revocations heard lately (session id or `all:<userId>`), for watches that start right after one. */
  const recentRevocations = recentlyHeard<true>()
  function onRevocation(notice: RevocationNotice): void {
    const now = Date.now()
    if (notice.sessionIds === 'all') {
      recentRevocations.note(`all:${notice.userId}`, true, now)
      for (const set of [...watchers.values()]) for (const w of [...set]) if (w.userId === notice.userId) w.fire()
      return
    }
    for (const id of notice.sessionIds) {
      recentRevocations.note(id, true, now)
      for (const w of [...(watchers.get(id) ?? [])]) w.fire()
    }
  }
  let revocationsConfirmed = false
  const revocations = bus.subscribe(REVOCATIONS_CHANNEL, (payload) => {
    if (isRevocationNotice(payload)) onRevocation(payload)
  })
  revocations.then(
    () => (revocationsConfirmed = true),
    (err: unknown) => log.error({ err }, 'revocation channel subscribe failed'),
  )
  /** Names changed lately (user id → the newest name heard), for watches that start right after one. */
  const recentNames = recentlyHeard<{ displayName: string; nameVersion: number }>()
  function onProfile({ user, nameVersion }: ProfileNotice): void {
    if ((recentNames.get(user.id)?.value.nameVersion ?? 0) < nameVersion)
      recentNames.note(user.id, { displayName: user.displayName, nameVersion }, Date.now())
    for (const set of watchers.values()) for (const w of set) if (w.userId === user.id) rename(w.authenticated.user, user.displayName, nameVersion)
  }
  const profiles = bus.subscribe(PROFILES_CHANNEL, (payload) => {
    if (isProfileNotice(payload)) onProfile(payload)
  })
  profiles.catch((err: unknown) => log.error({ err }, 'profile channel subscribe failed'))

  function publishRevocation(userId: string, sessionIds: string[] | 'all'): void {
    const msg: SessionRevokedMessage = { type: 'session.revoked', sessionIds }
    const notice: RevocationNotice = { ...msg, userId }
    bus.publish(REVOCATIONS_CHANNEL, notice)
    // The user's own streams (events.user) tell the PWA too.
    bus.publish(userChannel(userId), msg)
  }

  /**
   * The safety net for revocations missed on the bus: every watched session
   * still live? A few at a time — one query naming thousands of sessions held
   * the database (and every send queued behind it) for most of a second.
   */
  async function recheckWatched(): Promise<void> {
    const ids = [...watchers.keys()]
    for (let i = 0; i < ids.length && !closed; i += RECHECK_BATCH) {
      const batch = ids.slice(i, i + RECHECK_BATCH)
      const live = await sessions.liveIds(batch)
      for (const id of batch) {
        if (live.has(id)) continue
        for (const w of [...(watchers.get(id) ?? [])]) w.fire()
      }
    }
  }
  /**
   * The same net for new names, once the bus says it lost messages (not at
   * every periodic resync: names change rarely, and a lost one only leaves a
   * socket sending with the old name): each watched user read again, a few
   * at a time.
   */
  async function recheckNames(): Promise<void> {
    const byUser = new Map<string, Watcher[]>()
    for (const set of watchers.values())
      for (const w of set) {
        const theirs = byUser.get(w.userId)
        if (theirs) theirs.push(w)
        else byUser.set(w.userId, [w])
      }
    const ids = [...byUser.keys()]
    for (let i = 0; i < ids.length && !closed; i += RECHECK_BATCH) {
      const batch = await Promise.all(ids.slice(i, i + RECHECK_BATCH).map((id) => users.findById(id)))
      for (const user of batch) {
        if (!user) continue
        for (const w of byUser.get(user._id.toHexString()) ?? []) rename(w.authenticated.user, user.displayName, user.nameVersion ?? 0)
      }
    }
  }
  const stopResync = bus.onResync((cause) => {
    if (cause !== 'interval') recheckNames().catch((err: unknown) => log.warn({ err }, 'name re-check failed'))
    recheckWatched().catch((err: unknown) => log.warn({ err }, 'session re-check failed'))
  })
  const pruneTimer =
    (opts.pruneIntervalMs ?? 60 * 60_000) > 0
      ? setInterval(
          () => {
            sessions
              .deleteExpired()
              .catch((err: unknown) => log.warn({ err }, 'session prune failed'))
          },
          opts.pruneIntervalMs ?? 60 * 60_000,
        )
      : null
  pruneTimer?.unref()

  const auth: AuthInstance = {
    hasher,

    async register({ username, password, displayName }, client) {
      const name = username.toLowerCase()
      // Cheap early answer; the unique index below is what actually decides races.
      if (await users.findByUsername(name)) throw new AuthError('CONFLICT', USERNAME_TAKEN)
      const passwordHash = await gated(() => hasher.hash(password))
      let user: UserDoc
      try {
        user = await users.insert({
          username: name,
          displayName: displayName?.trim() || name,
          passwordHash,
        })
      } catch (err) {
        if (isDuplicateKey(err, INDEX.usersUsername))
          throw new AuthError('CONFLICT', USERNAME_TAKEN)
        throw err
      }
      log.info({ userId: user._id.toHexString() }, 'user registered')
      return issue(user, client?.userAgent)
    },

    async login({ username, password }, client) {
      const name = username.toLowerCase()
      const ipKey = `login:ip:${client.ip}`
      const userKey = `login:user:${name}`
      const byIp = await bus.rateLimiter.hit(ipKey, loginLimits.perIp, loginLimits.windowMs)
      if (!byIp.ok) {
        log.warn({ ip: client.ip }, 'login rate limited (ip)')
        throw new AuthError('TOO_MANY_REQUESTS', 'Too many login attempts', byIp.retryAfterMs)
      }
      const byUser = await bus.rateLimiter.hit(userKey, loginLimits.perUser, loginLimits.windowMs)
      if (!byUser.ok) {
        log.warn({ ip: client.ip }, 'login rate limited (user)')
        throw new AuthError('TOO_MANY_REQUESTS', 'Too many login attempts', byUser.retryAfterMs)
      }
      const user = await users.findByUsername(name)
      // Unknown users cost one Argon2 verification too, so timing does not tell who exists.
      const ok = await gated(() =>
        user ? hasher.verify(user.passwordHash, password) : hasher.verifyDummy(password),
      )
      if (!user || !ok) throw new AuthError('UNAUTHORIZED', INVALID_CREDENTIALS)
      await bus.rateLimiter.reset(userKey)
      if (hasher.needsRehash(user.passwordHash)) {
        // The configured parameters changed since this hash was made: rehash in the background.
        hasher
          .hash(password)
          .then((h) => users.setPasswordHash(user._id, h))
          .catch((err: unknown) =>
            log.warn({ err, userId: user._id.toHexString() }, 'password rehash failed'),
          )
      }
      return issue(user, client.userAgent)
    },

    async validate(token) {
      const parsed = parseSessionToken(token)
      if (!parsed) return null
      let session = await sessions.findById(parsed.id)
      if (!session || !secretMatches(parsed.secret, secretHashBytes(session))) return null
      const now = Date.now()
      if (expired(session, now)) {
        await sessions.delete(session._id)
        return null
      }
      if (now - session.lastSeenAt.getTime() >= touchIntervalMs) session = await slide(session, now)
      const user = await users.findById(session.userId)
      if (!user) {
        await sessions.delete(session._id)
        return null
      }
      return { session, user }
    },

    async logout(sessionId) {
      const deleted = await sessions.delete(sessionId)
      if (!deleted) return
      publishRevocation(deleted.userId.toHexString(), [sessionId])
    },

    async logoutAll(userId) {
      if (!/^[0-9a-f]{24}$/i.test(userId)) return
      await sessions.deleteAllForUser(new ObjectId(userId))
      publishRevocation(userId.toLowerCase(), 'all')
    },

    listSessions(userId) {
      return sessions.liveForUser(userId)
    },

    async endSession(userId, sessionId) {
      if (!(await sessions.deleteForUser(userId, sessionId))) return false
      publishRevocation(userId.toHexString(), [sessionId])
      return true
    },

    async changePassword({ session, user }, { currentPassword, newPassword }) {
      const userId = user._id.toHexString()
      // A session alone (a borrowed device) must not be a way to guess the password.
      const key = `password:user:${userId}`
      const tries = await bus.rateLimiter.hit(key, loginLimits.perUser, loginLimits.windowMs)
      if (!tries.ok) {
        log.warn({ userId }, 'password change rate limited')
        throw new AuthError('TOO_MANY_REQUESTS', 'Too many password attempts', tries.retryAfterMs)
      }
      const stored = await users.findByUsername(user.username)
      const ok =
        stored?._id.equals(user._id) === true &&
        (await gated(() => hasher.verify(stored.passwordHash, currentPassword)))
      if (!ok) throw new AuthError('FORBIDDEN', WRONG_PASSWORD)
      await bus.rateLimiter.reset(key)
      await users.setPasswordHash(user._id, await gated(() => hasher.hash(newPassword)))
      const ended = await sessions.deleteOthersForUser(user._id, session._id)
      if (ended.length) publishRevocation(userId, ended)
      log.info({ userId, sessionsEnded: ended.length }, 'password changed')
    },

    async setDisplayName({ user }, displayName) {
      const updated = await users.setDisplayName(user._id, displayName)
      if (!updated) throw new AuthError('UNAUTHORIZED', 'Your account no longer exists')
      const message: ProfileUpdatedMessage = { type: 'profile.updated', user: toPublicUser(updated) }
      // Every node's sockets, this one's too (the bus delivers a publish here at once).
      bus.publish(PROFILES_CHANNEL, { ...message, nameVersion: updated.nameVersion ?? 0 } satisfies ProfileNotice)
      bus.publish(userChannel(message.user.id), message)
      return updated
    },

    async watchRevocation(authenticated: AuthenticatedSession, onRevoked) {
      const { session } = authenticated
      const sessionId = session._id
      const userId = session.userId.toHexString()
      const watchingSince = Date.now()
      let done = false
      let timer: NodeJS.Timeout | null = null
      const stop = (): void => {
        done = true
        if (timer) clearTimeout(timer)
        timer = null
        const set = watchers.get(sessionId)
        set?.delete(watcher)
        if (set?.size === 0) watchers.delete(sessionId)
      }
      const watcher: Watcher = {
        sessionId,
        userId,
        authenticated,
        stop,
        fire() {
          if (done) return
          stop()
          try {
            onRevoked()
          } catch (err) {
            log.error({ err }, 'onRevoked threw')
          }
        },
      }

      /**
       * Wake before the session would lapse. An open, authenticated socket is
       * use, so the idle deadline slides while it stays open; the absolute
       * lifetime still ends it.
       */
      const arm = (s: Pick<SessionDoc, 'idleExpiresAt' | 'absoluteExpiresAt'>): void => {
        if (done || closed) return
        const absolute = s.absoluteExpiresAt.getTime()
        const idle = s.idleExpiresAt.getTime()
        // Once the idle deadline is capped at the absolute one, only the absolute one matters.
        const at = idle >= absolute ? absolute : idle - Math.min(touchIntervalMs, idleTimeoutMs / 2)
        timer = setTimeout(check, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())))
        timer.unref()
      }
      /** The session as stored now; null (and the watcher fired) once it is revoked or expired. */
      const stillValid = async (): Promise<SessionDoc | null> => {
        const current = await sessions.findById(sessionId)
        if (current && !expired(current, Date.now())) return current
        watcher.fire()
        return null
      }
      const check = (): void => {
        timer = null
        if (done) return
        void (async () => {
          const current = await stillValid()
          if (!current) return
          // Slide unconditionally (when it can still move): the next wake is then at least idle/2 away.
          const canSlide = current.idleExpiresAt.getTime() < current.absoluteExpiresAt.getTime()
          arm(canSlide ? await slide(current, Date.now()) : current)
        })().catch((err: unknown) => {
          log.warn({ err }, 'session expiry check failed')
          // Try again shortly rather than letting a transient error end or forget the watch.
          if (!done) {
            timer = setTimeout(check, 5000)
            timer.unref()
          }
        })
      }

      let set = watchers.get(sessionId)
      if (!set) watchers.set(sessionId, (set = new Set()))
      set.add(watcher)
      // A revocation heard between validate() and now would otherwise be missed. (The session
      // was read before `watchingSince`, so a recent revoke-all of the user may postdate it: look.)
      const allAt = recentRevocations.get(`all:${userId}`)?.at
      // Likewise a new name: the session's user may have been read before it. No age test:
      // rename() keeps whichever of the two is newer by nameVersion.
      const renamed = recentNames.get(userId)?.value
      if (renamed) rename(authenticated.user, renamed.displayName, renamed.nameVersion)
      if (recentRevocations.get(sessionId)) watcher.fire()
      else if (allAt !== undefined && allAt >= watchingSince - RECENTLY_HEARD_MS) await stillValid()
      if (!done) arm(session)
      // Watching from before the node's revocation channel was confirmed (just after start-up): ask the database once it is.
      if (!revocationsConfirmed) {
        await revocations
        await stillValid()
      }
      return stop
    },

    readToken: (cookieHeader) => readSessionCookie(secureCookies, cookieHeader),
    sessionCookie: (token, expiresAt) => serializeSessionCookie(secureCookies, token, expiresAt),
    blankCookie: () => serializeBlankCookie(secureCookies),

    pruneExpired: () => sessions.deleteExpired(),

    close() {
      closed = true
      stopResync()
      revocations.then((off) => off(), () => {})
      profiles.then((off) => off(), () => {})
      if (pruneTimer) clearInterval(pruneTimer)
      for (const set of [...watchers.values()]) for (const w of [...set]) w.stop()
    },
  }
  return auth
}
