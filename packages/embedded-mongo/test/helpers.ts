import { MongoClient } from 'mongodb'
import { type EmbeddedMongo, type EmbeddedMongoOptions, startEmbeddedMongo } from '../src/index.ts'

export interface Harness {
  server: EmbeddedMongo
  client: MongoClient
  close(): Promise<void>
}

/** Starts a server and connects the official driver to it, exactly as an app would. */
export async function connect(opts: EmbeddedMongoOptions = {}): Promise<Harness> {
  const server = await startEmbeddedMongo(opts)
  const client = new MongoClient(server.url, { serverSelectionTimeoutMS: 5000 })
  await client.connect()
  return {
    server,
    client,
    async close() {
      await client.close()
      await server.stop()
    },
  }
}
