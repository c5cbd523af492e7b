/**
 * The bench logs where its MongoDB is; a MONGODB_URL's password must not
 * reach that log (it is pasted into notes and CI output).
 */
import { afterEach, expect, test } from 'vitest'
import { startMongo } from '../src/topology.ts'

const saved = process.env.MONGODB_URL
afterEach(() => {
  if (saved === undefined) delete process.env.MONGODB_URL
  else process.env.MONGODB_URL = saved
})

test('a given MONGODB_URL is used with its credentials, and shown without them', async () => {
  process.env.MONGODB_URL = 'mongodb://bench:hunter2@db.internal:27017/parley?authSource=admin'
  const mongo = await startMongo()
  expect(mongo.url).toMatch(/^mongodb:\/\/bench:hunter2@db\.internal:27017\/parley_bench_\w+\?authSource=admin$/)
  expect(mongo.shown).toMatch(/^mongodb:\/\/\*\*\*@db\.internal:27017\/parley_bench_\w+\?authSource=admin$/)
  await mongo.stop()
})
