/**
 * @parley/api — the shared tRPC router. The server mounts `appRouter`; the web
 * app imports `type AppRouter` (and the inferred input/output types) only.
 */
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server'
import type { AppRouter } from './root.ts'

export { appRouter, type AppRouter } from './root.ts'
export { closeThenCut } from './ws-close.ts'
export { clientIp, ipLimitKey, createContextFactory, type ApiDeps, type ApiLogger, type ApiMetrics, type Context, type CreateContextOptions, type InflightTracker, type WsConnectionState } from './context.ts'
export { DEFAULT_LIMITS, type ApiLimits } from './limits.ts'
export { createMembershipCache, type MembershipCache } from './membership-cache.ts'
export { createRoomHub, type RoomHub, type RoomHubOptions } from './live/room-hub.ts'
export { createStreamGateway, type StreamGateway } from './live/ws-streams.ts'
export { createUserHub, type UserHub } from './live/user-hub.ts'
export type RouterInputs = inferRouterInputs<AppRouter>
export type RouterOutputs = inferRouterOutputs<AppRouter>
