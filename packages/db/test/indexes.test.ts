/**
 * Start-up makes the indexes the code reads and drops the ones it retired:
 * a retired index still costs a write on every insert and update.
 */
import { afterAll, beforeAll, expect, test } from 'vitest'
import { ensureIndexes, INDEX } from '../src/indexes.ts'
import { openTestDatabase, type TestDatabase } from './harness.ts'

let database: TestDatabase
beforeAll(async () => {
  database = await openTestDatabase()
})
afterAll(() => database.drop())

const roomIndexNames = async () => (await database.collections.rooms.listIndexes().toArray()).map((ix) => String(ix.name))

test('start-up drops an index an earlier version made, and runs again on a database without it', async () => {
  // A database from before the directory's index was renamed still has the old one.
  await database.collections.rooms.createIndex({ visibility: 1, lastActivityAt: -1 }, { name: 'rooms_visibility_activity' })
  expect(await roomIndexNames()).toContain('rooms_visibility_activity')

  await ensureIndexes(database.db)
  expect(await roomIndexNames()).not.toContain('rooms_visibility_activity')
  expect(await roomIndexNames()).toContain(INDEX.roomsBrowse)

  await ensureIndexes(database.db)
  expect(await roomIndexNames()).toEqual(expect.arrayContaining(['_id_', INDEX.roomsDirect, INDEX.roomsBrowse]))
})
