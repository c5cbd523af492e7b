import { MongoClient, type Collection, type Db } from 'mongodb'
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
  /**
   * Called after every command the driver runs (command monitoring), with its
   * name, duration in ms and whether it succeeded: the server feeds a latency histogram.
   */
  onCommand?: (name: string, ms: number, ok: boolean) => void
}

export async function connectDatabase({ url, dbName, maxPoolSize = 20, onCommand }: ConnectOptions): Promise<Database> {
  const client = new MongoClient(url, { maxPoolSize, serverSelectionTimeoutMS: 10_000, connectTimeoutMS: 10_000, monitorCommands: onCommand !== undefined })
  if (onCommand) {
    client.on('commandSucceeded', (e) => onCommand(e.commandName, e.duration, true))
    client.on('commandFailed', (e) => onCommand(e.commandName, e.duration, false))
  }
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
    repos: createRepositories(collections),
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
