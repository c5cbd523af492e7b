/**
 * tRPC building blocks: the router/procedure factories, the error formatter
 * (zod issues flattened into `data.zodError`, retry hints into
 * `data.retryAfterMs`) and `protectedProcedure`, which narrows ctx.session.
 */
import { initTRPC, TRPCError } from '@trpc/server'
import { z, ZodError } from 'zod'
import type { Context } from './context.ts'

/** Thrown for TOO_MANY_REQUESTS so clients can show when to try again. */
export class RateLimitedError extends TRPCError {
  constructor(
    public readonly retryAfterMs: number,
    message = 'Too many requests, try again later',
  ) {
    super({ code: 'TOO_MANY_REQUESTS', message: `${message} (retry in ${Math.ceil(retryAfterMs / 1000)} s)` })
  }
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const zodError = error.cause instanceof ZodError ? z.flattenError(error.cause) : null
    const retryAfterMs = error instanceof RateLimitedError ? error.retryAfterMs : undefined
    // Internal errors never leak their message or stack to clients.
    const message = error.code === 'INTERNAL_SERVER_ERROR' ? 'Internal server error' : shape.message
    const { stack: _stack, ...data } = shape.data
    return { ...shape, message, data: { ...data, zodError, retryAfterMs } }
  },
})

export const router = t.router
export const mergeRouters = t.mergeRouters
export const createCallerFactory = t.createCallerFactory
export const publicProcedure = t.procedure

export const protectedProcedure = t.procedure.use(({ ctx, next }) => {
  if (!ctx.session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' })
  return next({ ctx: { ...ctx, session: ctx.session, user: ctx.session.user } })
})
