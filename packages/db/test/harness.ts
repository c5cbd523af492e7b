/**
 * The storage suite's database: a real MongoDB when MONGODB_URL is set,
 * otherwise the embedded server. Each suite gets a fresh database. Other
 * packages' tests that need the database import it as `@parley/db/testing`.
 */
import { startTestMongo } from '@parley/testing'
import { connectDatabase, type ConnectOptions, type Database } from '../src/index.ts'

/** A fresh database; `drop()` deletes it and closes the client (and the embedded server). */
export type TestDatabase = Database & { drop(): Promise<void> }

/** `onCommand` sees every command sent (to count the queries a feature makes): see ConnectOptions. */
export async function openTestDatabase(onCommand?: ConnectOptions['onCommand'], options: Pick<ConnectOptions, 'unreadCountLimit' | 'lookupWindowMs'> = {}): Promise<TestDatabase> {
  const mongo = await startTestMongo()
  const database = await connectDatabase({ url: mongo.url, dbName: mongo.dbName, ...options, ...(onCommand ? { onCommand } : {}) })
  return Object.assign(database, {
    async drop() {
      await database.db.dropDatabase()
      await database.close()
      await mongo.stop()
    },
  })
}
