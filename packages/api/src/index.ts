/**
 * @parley/api — the shared tRPC router. The server mounts `appRouter`; the web
 * app imports `type AppRouter` (and the inferred input/output types) only.
 */
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server'
import type { AppRouter } from './root.ts'

export { appRouter, type AppRouter } from './root.ts'
export { clientIp, createContextFactory, type ApiDeps, type ApiLogger, type ApiMetrics, type Context, type CreateContextOptions, type InflightTracker, type WsConnectionState } from './context.ts'
export { DEFAULT_LIMITS, type ApiLimits } from './limits.ts'
export { createMembershipCache, type MembershipCache } from './membership-cache.ts'
export { createRoomHub, type RoomHub, type RoomHubOptions } from './live/room-hub.ts'
export { createRoomMembers, type RoomMembers } from './live/room-members.ts'
export { createRoomStreamGateway, type RoomStreamGateway } from './live/ws-room-streams.ts'
export type RouterInputs = inferRouterInputs<AppRouter>
export type RouterOutputs = inferRouterOutputs<AppRouter>
