import { publicProcedure, router } from '../trpc.ts'

export const systemRouter = router({
  info: publicProcedure.query(({ ctx }) => ({
    name: 'parley',
    version: ctx.deps.version,
    nodeId: ctx.deps.nodeId,
    time: new Date().toISOString(),
  })),
})
