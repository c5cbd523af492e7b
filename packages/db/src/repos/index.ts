import type { Collections } from '../client.ts'
import { createEventLog } from './events.ts'
import { createMessages, type MessagesOptions } from './messages.ts'
import { createRooms } from './rooms.ts'

/** The repositories the API uses for rooms, messages and the event log. */
export function createRepositories(collections: Collections, options: MessagesOptions = {}) {
  const events = createEventLog(collections)
  const messages = createMessages(collections, events, options)
  const rooms = createRooms(collections, events, messages, { lookupWindowMs: options.lookupWindowMs })
  return { events, messages, rooms }
}
export type Repositories = ReturnType<typeof createRepositories>
