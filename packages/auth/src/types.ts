import type { ObjectId, SessionDoc, UserRecord } from '@parley/db'

export interface AuthenticatedSession {
  session: SessionDoc
  /** Never the password hash: a session's user lives in every request's context. */
  user: UserRecord
}

/** Domain failures the API maps to tRPC codes. */
export class AuthError extends Error {
  constructor(
    public readonly code: 'CONFLICT' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'TOO_MANY_REQUESTS',
    message: string,
    public readonly retryAfterMs?: number,
  ) {
    super(message)
  }
}

export interface IssuedSession extends AuthenticatedSession {
  /** `id.secret` — goes into the cookie (or connectionParams.token); never logged, never stored raw. */
  token: string
}

export interface Auth {
  /** `client.userAgent` is kept with the session, to tell the user's devices apart. */
  register(
    input: { username: string; password: string; displayName?: string },
    client?: { userAgent?: string },
  ): Promise<IssuedSession>
  login(
    input: { username: string; password: string },
    client: { ip: string; userAgent?: string },
  ): Promise<IssuedSession>
  /** Resolves a token to its session and user, sliding the idle deadline; null when unknown/expired. */
  validate(token: string): Promise<AuthenticatedSession | null>
  logout(sessionId: string): Promise<void>
  logoutAll(userId: string): Promise<void>
  /** The user's sessions still live, the most recently used first. */
  listSessions(userId: ObjectId): Promise<SessionDoc[]>
  /** Ends one of the user's sessions (its sockets close within seconds); false if it is not theirs or gone. */
  endSession(userId: ObjectId, sessionId: string): Promise<boolean>
  /**
   * A new password for the session's user, given the current one (FORBIDDEN
   * otherwise; attempts share the per-user login limit). Every other session
   * of the user ends: whoever else holds one signed in with the old password.
   */
  changePassword(
    session: AuthenticatedSession,
    input: { currentPassword: string; newPassword: string },
  ): Promise<void>
  /**
   * The session's user is shown as `displayName` from now on: in what their
   * open sockets send next, on any node (their `user:<id>` streams hear
   * `profile.updated`). Resolves to the user as stored.
   */
  setDisplayName(session: AuthenticatedSession, displayName: string): Promise<UserRecord>
  /** Calls `onRevoked` (within seconds, on any node) when this session is deleted or expires. Returns the stop function. */
  watchRevocation(session: AuthenticatedSession, onRevoked: () => void): Promise<() => void>
  /** The session token from a Cookie header, if any. */
  readToken(cookieHeader: string | undefined): string | null
  /** Set-Cookie value for a new session. */
  sessionCookie(token: string, expiresAt: Date): string
  /** Set-Cookie value that clears the session cookie. */
  blankCookie(): string
}
