/**
 * tRPC building blocks: the router/procedure factories, the error formatter
 * (zod issues flattened into `data.zodError`, retry hints into
 * `data.retryAfterMs`) and `protectedProcedure`, which narrows ctx.session.
 */
import { initTRPC, TRPCError } from '@trpc/server'
import { z, ZodError } from 'zod'
import type { Context } from './context.ts'

/** "12 s", "5 min": hour-long windows (sign-ups) read badly in seconds. */
function retryIn(ms: number): string {
  const s = Math.ceil(ms / 1000)
  return s <= 90 ? `${s} s` : `${Math.ceil(s / 60)} min`
}

/** Thrown for TOO_MANY_REQUESTS so clients can show when to try again. */
export class RateLimitedError extends TRPCError {
  constructor(
    public readonly retryAfterMs: number,
    message = 'Too many requests, try again later',
  ) {
    super({ code: 'TOO_MANY_REQUESTS', message: `${message} (retry in ${retryIn(retryAfterMs)})` })
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
export const createCallerFactory = t.createCallerFactory

/**
 * Wraps a subscription's async iterable so `release` runs exactly once when
 * the stream ends, however it ends (completion, error, or return() when the
 * client stops it or the socket closes).
 */
export function onIterableEnd<T>(iterable: AsyncIterable<T>, release: () => void): AsyncIterable<T> {
  let released = false
  const done = () => {
    if (released) return
    released = true
    release()
  }
  return {
    [Symbol.asyncIterator]() {
      const it = iterable[Symbol.asyncIterator]()
      return {
        async next() {
          try {
            const r = await it.next()
            if (r.done) done()
            return r
          } catch (err) {
            done()
            throw err
          }
        },
        async return(value?: unknown) {
          try {
            return it.return ? await it.return(value) : { done: true as const, value: value as T }
          } finally {
            done()
          }
        },
        async throw(err?: unknown) {
          try {
            if (it.throw) return await it.throw(err)
            throw err
          } finally {
            done()
          }
        },
        [Symbol.asyncIterator]() {
          return this
        },
      } as AsyncIterableIterator<T>
    },
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof value === 'object' && Symbol.asyncIterator in value
}

/**
 * Runs before every procedure:
 * - queries and mutations are counted in flight, so a graceful shutdown can
 *   let them finish before the database closes;
 * - subscriptions over a WebSocket are counted per connection: past the
 *   limit the new one gets TOO_MANY_REQUESTS and the others carry on.
 */
const transportGuard = t.middleware(async ({ ctx, type, path, next }) => {
  if (type !== 'subscription') {
    const end = ctx.deps.inflight?.begin()
    try {
      return await next()
    } finally {
      end?.()
    }
  }
  const release = admitSubscription(ctx, path)
  let result: Awaited<ReturnType<typeof next>>
  try {
    result = await next()
  } catch (err) {
    release()
    throw err
  }
  if (!result.ok || !isAsyncIterable(result.data)) {
    release()
    return result
  }
  return { ...result, data: onIterableEnd(result.data, release) }
})

/**
 * Counts a subscription against its WebSocket's limit (TOO_MANY_REQUESTS past
 * it) and in the metrics; returns its release, which runs once however often
 * it is called. Shared by this middleware and the room-stream gateway.
 */
export function admitSubscription(ctx: Context, path: string): () => void {
  const { conn, deps } = ctx
  const max = deps.maxSubscriptionsPerConnection
  if (conn && max !== undefined && conn.subscriptions >= max) {
    deps.metrics?.subscriptionRefused?.()
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Too many subscriptions on this connection (at most ${max})` })
  }
  if (conn) conn.subscriptions++
  deps.metrics?.subscriptionStarted?.(path)
  let released = false
  return () => {
    if (released) return
    released = true
    if (conn) conn.subscriptions--
    deps.metrics?.subscriptionEnded?.(path)
  }
}

export const publicProcedure = t.procedure.use(transportGuard)

export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.session) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' })
  return next({ ctx: { ...ctx, session: ctx.session, user: ctx.session.user } })
})
