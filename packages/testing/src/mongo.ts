import { randomBytes } from 'node:crypto'
import { startEmbeddedMongo } from '@parley/embedded-mongo'

export interface TestMongo {
  url: string
  /** A database of this test's own (drop it when done: on a real server it outlives the test). */
  dbName: string
  stop(): Promise<void>
}

/**
 * Where a storage test keeps its data: the real MongoDB at MONGODB_URL when
 * it is set, else an embedded server of the test's own.
 */
export async function startTestMongo(prefix = 'parley_test'): Promise<TestMongo> {
  const embedded = process.env.MONGODB_URL ? null : await startEmbeddedMongo({ port: 0 })
  return {
    url: process.env.MONGODB_URL ?? embedded!.url,
    dbName: `${prefix}_${randomBytes(4).toString('hex')}`,
    stop: async () => {
      await embedded?.stop()
    },
  }
}
