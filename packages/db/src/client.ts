import { MongoClient, type Collection, type Db, type Document } from 'mongodb'
import type { EventDoc, InviteDoc, MemberDoc, MessageDoc, RoomDoc, SessionDoc, UserDoc } from './documents.ts'
import { ensureIndexes } from './indexes.ts'
import { createRepositories, type Repositories } from './repos/index.ts'

export interface Collections {
  users: Collection<UserDoc>
  sessions: Collection<SessionDoc>
  rooms: Collection<RoomDoc>
  members: Collection<MemberDoc>
  invites: Collection<InviteDoc>
  events: Collection<EventDoc>
  messages: Collection<MessageDoc>
}

export interface Database {
  client: MongoClient
  db: Db
  collections: Collections
  repos: Repositories
  /** For /readyz. */
  ping(): Promise<boolean>
  close(): Promise<void>
}

export interface ConnectOptions {
  url: string
  /** Defaults to the database named in the URL (put `/parley` in it). */
  dbName?: string
  /** Pool size per node; the embedded server is single-threaded, a real cluster likes more. */
  maxPoolSize?: number
  /** Server selection and connection timeout (default DEFAULT_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number
  /**
   * Called when an operation gives its connection back to the pool, with how
   * long it waited for one and how long it held it (its command's round trip,
   * ms): the server feeds latency histograms. Taken from the pool's events, not
   * command monitoring, which makes the driver decode every reply a second
   * time for its event (a third of a read's CPU, measured with
   * packages/api/bench/send-path.ts).
   */
  onOperation?: (waitedMs: number, heldMs: number) => void
  /** Turns command monitoring on and shows every command sent (its name, and the command: `find`'s value is the collection): for tests that count the queries a feature makes. */
  onCommand?: (name: string, command: Document) => void
  /** Where unread counts stop (default DEFAULT_UNREAD_COUNT_LIMIT): see createUnreadCounter. */
  unreadCountLimit?: number
  /** Events of rooms' logs kept for the next unread counts (default DEFAULT_UNREAD_CACHE_EVENTS): see event-runs.ts. */
  unreadCacheEvents?: number
  /** After a lookup query shared by several callers, how long the next of its kind waits for others to share it (default DEFAULT_LOOKUP_WINDOW_MS): see batch.ts. */
  lookupWindowMs?: number
}

/** Connections each node keeps to MongoDB (MONGODB_MAX_POOL_SIZE). */
export const DEFAULT_MAX_POOL_SIZE = 20
/** How long the driver looks for a server, and waits for a connection to open (MONGODB_CONNECT_TIMEOUT_MS). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

export async function connectDatabase({ url, dbName, maxPoolSize = DEFAULT_MAX_POOL_SIZE, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS, onOperation, onCommand, unreadCountLimit, unreadCacheEvents, lookupWindowMs }: ConnectOptions): Promise<Database> {
  const client = new MongoClient(url, { maxPoolSize, serverSelectionTimeoutMS: connectTimeoutMs, connectTimeoutMS: connectTimeoutMs, monitorCommands: onCommand !== undefined })
  if (onOperation) timeOperations(client, onOperation)
  if (onCommand) client.on('commandStarted', (e) => onCommand(e.commandName, e.command))
  await client.connect()
  const db = client.db(dbName)
  const collections: Collections = {
    users: db.collection('users'),
    sessions: db.collection('sessions'),
    rooms: db.collection('rooms'),
    members: db.collection('members'),
    invites: db.collection('invites'),
    events: db.collection('events'),
    messages: db.collection('messages'),
  }
  await ensureIndexes(db)
  return {
    client,
    db,
    collections,
    repos: createRepositories(collections, { unreadCountLimit, unreadCacheEvents, lookupWindowMs }),
    async ping() {
      try {
        await db.command({ ping: 1 }, { timeoutMS: 2000 })
        return true
      } catch {
        return false
      }
    },
    close: () => client.close(),
  }
}

function timeOperations(client: MongoClient, onOperation: (waitedMs: number, heldMs: number) => void): void {
  // Connection ids are per pool (one pool per server): key by address too.
  const checkedOut = new Map<string, { at: number; waitedMs: number }>()
  client.on('connectionCheckedOut', (e) => checkedOut.set(`${e.address}/${e.connectionId}`, { at: performance.now(), waitedMs: e.durationMS }))
  client.on('connectionCheckedIn', (e) => {
    const key = `${e.address}/${e.connectionId}`
    const out = checkedOut.get(key)
    if (!out) return
    checkedOut.delete(key)
    onOperation(out.waitedMs, performance.now() - out.at)
  })
}
