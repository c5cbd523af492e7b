import { z } from 'zod'
import { publicProcedure, router } from '../trpc.ts'

export const systemRouter = router({
  info: publicProcedure.query(({ ctx }) => ({
    name: 'parley',
    version: ctx.deps.version,
    nodeId: ctx.deps.nodeId,
    time: new Date().toISOString(),
  })),
  /** A heartbeat stream: proves the WebSocket transport end to end. */
  clock: publicProcedure
    .input(z.object({ intervalMs: z.number().int().min(100).max(60_000).default(1000) }).strict().optional())
    .subscription(async function* ({ input, signal }) {
      const intervalMs = input?.intervalMs ?? 1000
      while (!signal?.aborted) {
        yield { time: new Date().toISOString() }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, intervalMs)
          signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
        })
      }
    }),
})
