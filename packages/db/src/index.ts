/**
 * MongoDB access for Parley: typed collections, indexes (named in one place)
 * and the repositories the API calls. Speaks MongoDB only, through the
 * official driver — a real server, or @parley/embedded-mongo in dev and tests.
 */
export * from './client.ts'
export { DEFAULT_LOOKUP_WINDOW_MS } from './batch.ts'
export * from './documents.ts'
export * from './indexes.ts'
export { ObjectId } from 'mongodb'
export * from './repos/users.ts'
export * from './repos/sessions.ts'
export * from './repos/index.ts'
export * from './repos/events.ts'
export * from './repos/messages.ts'
export * from './repos/unread.ts'
export * from './repos/rooms.ts'
export * from './repos/mappers.ts'
