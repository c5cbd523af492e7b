import type { Collections } from '../client.ts'
import { createEventLog } from './events.ts'
import { createMessages, type MessagesOptions } from './messages.ts'
import { createRooms } from './rooms.ts'
import { createSessionsRepo } from './sessions.ts'
import { createUsersRepo } from './users.ts'

/** Every repository, built once per database so their lookups share its options: the API's rooms, messages and event log, and auth's users and sessions. */
export function createRepositories(collections: Collections, options: MessagesOptions = {}) {
  const lookups = { lookupWindowMs: options.lookupWindowMs }
  const events = createEventLog(collections)
  const messages = createMessages(collections, events, options)
  const rooms = createRooms(collections, events, messages, lookups)
  return { events, messages, rooms, users: createUsersRepo(collections, lookups), sessions: createSessionsRepo(collections, lookups) }
}
export type Repositories = ReturnType<typeof createRepositories>
