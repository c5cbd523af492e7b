/**
 * LOOKUP_BATCH_WINDOW_MS reaches the node's lookups: after a crowd, requests
 * that trickle in share MongoDB round trips under a wide window and do not
 * under a narrow one. Counted from the node's own /metrics (one sample per
 * driver operation), as an operator would see it.
 */
import { describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './factory.ts'
import { metricValue } from './helpers.ts'

const BURST = 10
const TRICKLE = 4
/** Between trickled requests: wider than the default crowd window (20 ms), so only a wider setting can join them. */
const GAP_MS = 60

const mongoOperations = async (server: TestServer) => metricValue(await (await fetch(`${server.url}/metrics`)).text(), 'parley_mongodb_operation_seconds_count')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Round trips made by TRICKLE room lists arriving GAP_MS apart, right after a crowd of BURST. */
async function trickleCost(windowMs: string): Promise<number> {
  await using server = await startTestServer({ LOOKUP_BATCH_WINDOW_MS: windowMs })
  const people = await Promise.all(Array.from({ length: BURST + TRICKLE }, () => server.signUp()))
  const crowd = people.slice(0, BURST)
  const latecomers = people.slice(BURST)
  // The crowd: their sessions, users and memberships are each read in a shared query.
  await Promise.all(crowd.map((p) => p.trpc.rooms.list.query()))
  const before = await mongoOperations(server)
  await Promise.all(latecomers.map(async (p, i) => {
    await sleep(i * GAP_MS)
    return p.trpc.rooms.list.query()
  }))
  return (await mongoOperations(server)) - before
}

describe('LOOKUP_BATCH_WINDOW_MS', () => {
  it('a wide window lets requests trickling in after a crowd share round trips; a narrow one does not', async () => {
    const narrow = await trickleCost('0')
    const wide = await trickleCost('1000')
    // Narrow: each latecomer reads its session, user and memberships alone.
    expect(narrow).toBeGreaterThanOrEqual(TRICKLE * 3)
    // Wide: the latecomers share each of those reads (the scrape between is not a lookup).
    expect(wide).toBeLessThanOrEqual(narrow - 2 * 3)
  })
})
