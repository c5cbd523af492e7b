/**
 * auth.register / login / logout / logoutAll / sessions / endSession / changePassword / updateProfile / me. Cookies are set over HTTP
 * only (ctx.setCookie is null over WebSocket: register/login there still
 * answer with the user, but the socket's own identity does not change).
 */
import { TRPCError } from '@trpc/server'
import { AuthError, type IssuedSession } from '@parley/auth'
import { toPublicUser } from '@parley/db'
import {
  ChangePasswordInput,
  EndSessionInput,
  LoginInput,
  RegisterInput,
  UpdateProfileInput,
  type PublicUser,
} from '@parley/schemas'
import { limitUser, rateLimit } from '../access.ts'
import { ipLimitKey, type Context } from '../context.ts'
import { protectedProcedure, publicProcedure, RateLimitedError, router } from '../trpc.ts'

/** AuthError → the tRPC error clients see (TOO_MANY_REQUESTS carries data.retryAfterMs). */
async function mapAuthErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (!(err instanceof AuthError)) throw err
    if (err.code === 'TOO_MANY_REQUESTS')
      throw new RateLimitedError(err.retryAfterMs ?? 1000, err.message)
    throw new TRPCError({ code: err.code, message: err.message })
  }
}

/**
 * Sets the new cookie and ends the session this browser held before (a new
 * token at every sign-in). Over a socket there is no cookie to carry the token,
 * so the session is ended at once rather than left for nobody to hold.
 */
async function adopt(ctx: Context, issued: IssuedSession): Promise<{ user: PublicUser }> {
  if (ctx.setCookie) {
    ctx.setCookie(ctx.deps.auth.sessionCookie(issued.token, issued.session.absoluteExpiresAt))
    const previous = ctx.session?.session._id
    if (previous && previous !== issued.session._id) await ctx.deps.auth.logout(previous)
  } else {
    await ctx.deps.auth.logout(issued.session._id)
  }
  return { user: toPublicUser(issued.user) }
}

const userAgent = (ctx: Context): string | undefined => ctx.req.headers['user-agent'] || undefined

export const authRouter = router({
  register: publicProcedure.input(RegisterInput).mutation(async ({ ctx, input }) => {
    // Accounts are free: without a per-IP bound, every per-user limit is one sign-up away.
    const { registerPerIp, registerWindowMs } = ctx.deps.limits
    await rateLimit(ctx, `register:ip:${ipLimitKey(ctx.ip)}`, registerPerIp, registerWindowMs, 'sign-ups from this address')
    const issued = await mapAuthErrors(() => ctx.deps.auth.register(input, { userAgent: userAgent(ctx) }))
    return adopt(ctx, issued)
  }),

  login: publicProcedure.input(LoginInput).mutation(async ({ ctx, input }) => {
    const issued = await mapAuthErrors(() =>
      ctx.deps.auth.login(input, { ip: ipLimitKey(ctx.ip), userAgent: userAgent(ctx) }),
    )
    return adopt(ctx, issued)
  }),

  /** Deletes this session server-side and clears the cookie; harmless when signed out. */
  logout: publicProcedure.mutation(async ({ ctx }) => {
    if (ctx.session) await ctx.deps.auth.logout(ctx.session.session._id)
    ctx.setCookie?.(ctx.deps.auth.blankCookie())
    return { ok: true as const }
  }),

  /** "Log out everywhere": deletes every session of the caller, on every device. */
  logoutAll: protectedProcedure.mutation(async ({ ctx }) => {
    await ctx.deps.auth.logoutAll(ctx.user._id.toHexString())
    ctx.setCookie?.(ctx.deps.auth.blankCookie())
    return { ok: true as const }
  }),

  /** Where the user is signed in: each live session, this one marked `current`, the most recently used first. */
  sessions: protectedProcedure.query(async ({ ctx }) =>
    (await ctx.deps.auth.listSessions(ctx.user._id)).map((s) => ({
      id: s._id,
      current: s._id === ctx.session.session._id,
      userAgent: s.userAgent ?? null,
      createdAt: s.createdAt.toISOString(),
      lastSeenAt: s.lastSeenAt.toISOString(),
    })),
  ),

  /** Signs one of the user's other devices out (its sockets close as at logout); this one signs out with auth.logout. */
  endSession: protectedProcedure.input(EndSessionInput).mutation(async ({ ctx, input }) => {
    if (input.sessionId === ctx.session.session._id)
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'That is this device: sign out instead' })
    if (!(await ctx.deps.auth.endSession(ctx.user._id, input.sessionId)))
      throw new TRPCError({ code: 'NOT_FOUND', message: 'No such session (it may have ended already)' })
    return { ok: true as const }
  }),

  /**
   * A new password, given the current one; every other session of the user
   * ends (their sockets close as at logoutAll), this one stays.
   */
  changePassword: protectedProcedure.input(ChangePasswordInput).mutation(async ({ ctx, input }) => {
    await mapAuthErrors(() => ctx.deps.auth.changePassword(ctx.session, input))
    return { ok: true as const }
  }),

  /**
   * A new display name: shown from now on wherever the user is (their member
   * rows, direct rooms, what their open sockets send next, on every node).
   * Messages already sent keep the name they were sent with. The name as it
   * is answers at once without counting against the limit.
   */
  updateProfile: protectedProcedure.input(UpdateProfileInput).mutation(async ({ ctx, input }) => {
    if (input.displayName === ctx.user.displayName) return { user: toPublicUser(ctx.user) }
    await limitUser(ctx, 'profile')
    // The direct rooms first: should the user's own write then fail, trying again is no no-op, and finishes both.
    await ctx.deps.database.repos.rooms.renameDirectPerson({ ...toPublicUser(ctx.user), displayName: input.displayName })
    const user = toPublicUser(await mapAuthErrors(() => ctx.deps.auth.setDisplayName(ctx.session, input.displayName)))
    return { user }
  }),

  me: publicProcedure.query(({ ctx }) =>
    ctx.session ? { user: toPublicUser(ctx.session.user) } : null,
  ),
})
