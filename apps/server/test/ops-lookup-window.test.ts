/**
 * LOOKUP_BATCH_WINDOW_MS reaches the node's lookups: after a crowd, requests
 * that trickle in share MongoDB round trips under a wide window and do not
 * under a narrow one. Counted from the node's own /metrics (one sample per
 * driver operation), as an operator would see it.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './factory.ts'
import { scrapeMetric } from './helpers.ts'

const CROWD = 10
const LATECOMERS = 6
/**
 * The latecomers start this long after the crowd, one every GAP_MS: all within
 * a 1000-ms window, each wider apart than the default one (20 ms), so only a
 * wider setting can join them. Timed from the crowd's start rather than its
 * end, so they share the window however the crowd's own lookups were split.
 */
const FIRST_MS = 200
const GAP_MS = 100

const mongoOperations = (server: TestServer) => scrapeMetric(server.url, 'parley_mongodb_operation_seconds_count')

/** Round trips made by a crowd listing their rooms at once and LATECOMERS more trickling in after. */
async function cost(windowMs: string): Promise<number> {
  await using server = await startTestServer({ LOOKUP_BATCH_WINDOW_MS: windowMs })
  const people = await Promise.all(Array.from({ length: CROWD + LATECOMERS }, () => server.signUp()))
  const before = await mongoOperations(server)
  await Promise.all(
    people.map(async (p, i) => {
      if (i >= CROWD) await sleep(FIRST_MS + (i - CROWD) * GAP_MS)
      return p.trpc.rooms.list.query()
    }),
  )
  return (await mongoOperations(server)) - before
}

describe('LOOKUP_BATCH_WINDOW_MS', () => {
  it('a wide window lets requests trickling in after a crowd share round trips; a narrow one does not', async () => {
    const narrow = await cost('0')
    const wide = await cost('1000')
    // Narrow: each latecomer reads its session, its user and its memberships alone.
    expect(narrow).toBeGreaterThanOrEqual(LATECOMERS * 3)
    // Wide: the latecomers share one read of each kind (3 in all), and the crowd's
    // reads, split in two batches on one node and not the other, differ by at most 3.
    expect(wide).toBeLessThanOrEqual(narrow - LATECOMERS * 3 + 3 + 3)
  })
})
