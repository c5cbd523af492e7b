/**
 * The storage suite's database: a real MongoDB when MONGODB_URL is set,
 * otherwise the embedded server. Each suite gets a fresh database.
 */
import { randomBytes } from 'node:crypto'
import { startEmbeddedMongo } from '@parley/embedded-mongo'
import { connectDatabase, type Database } from '../src/index.ts'

/** `onCommand` sees the name of every command sent (to count the queries a feature makes). */
export async function openTestDatabase(onCommand?: (name: string) => void): Promise<Database & { drop(): Promise<void> }> {
  const embedded = process.env.MONGODB_URL ? null : await startEmbeddedMongo({ port: 0 })
  const url = process.env.MONGODB_URL ?? embedded!.url
  const database = await connectDatabase({ url, dbName: `parley_test_${randomBytes(4).toString('hex')}`, ...(onCommand ? { onCommand } : {}) })
  return Object.assign(database, {
    async drop() {
      await database.db.dropDatabase()
      await database.close()
      await embedded?.stop()
    },
  })
}
