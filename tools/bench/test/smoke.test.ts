/**
 * `pnpm bench --smoke` end to end, as CI runs it: real redis-server, embedded
 * MongoDB, two production-build nodes, load generators, two people in
 * Chromium, a reconnect storm.
 * The benchmark must never rot, and must never lose, repeat or reorder.
 */
import { execFileSync } from 'node:child_process'
import { expect, test } from 'vitest'
import type { BenchResult } from '../src/report.ts'
import { repoRoot } from '../src/topology.ts'
import { benchRunner } from './run-bench.ts'

const bench = benchRunner()

test('pnpm bench --smoke: deliveries flow, zero loss / duplicates / reordering, storm resumes', { timeout: 120_000 }, async () => {
  const { result, markdown, file } = await bench<BenchResult>('smoke', ['--smoke'])

  expect(result.steps.length).toBe(2)
  for (const s of result.steps) {
    expect(s.delivered).toBeGreaterThan(0)
    expect(s.delivered).toBe(s.expectedDeliveries)
    expect(s.latencyMs.count).toBe(s.delivered)
    expect(s.acked).toBe(s.sent)
    // Every process that did work in the step shows up in "cores used".
    expect(s.cpu.intervalS).toBeGreaterThan(0)
    for (const seconds of [s.cpu.nodesSeconds, s.cpu.loadgenSeconds, s.cpu.mongoSeconds]) expect(seconds).toBeGreaterThan(0)
  }
  // Readers marked their room read as the PWA does, and the server took every marker (a refused one is a failure above).
  expect(result.steps.reduce((n, s) => n + (s.markersPerSec ?? 0), 0)).toBeGreaterThan(0)
  const clean = { lost: 0, duplicates: 0, outOfOrder: 0, resets: 0, ahead: 0, subscriptionErrors: 0, unexpectedCloses: 0 }
  expect(result.integrity).toMatchObject(clean)
  expect(result.integrity.delivered).toBeGreaterThan(0)

  // Two people in Chromium: every timed message reached the other screen and was confirmed to its sender.
  expect(result.browser?.rooms.map((r) => r.samples)).toEqual([5, 5])
  for (const room of result.browser!.rooms) {
    for (const spread of [room.otherScreenMs, room.confirmedMs]) expect(spread.p50).toBeGreaterThan(0)
    // Chromium's counters were read: rendering a message is work on both pages.
    for (const t of [room.mainThreadMs.writer, room.mainThreadMs.reader]) {
      expect(t.layoutAndStyle).toBeGreaterThan(0)
      expect(t.tasks).toBeGreaterThan(t.layoutAndStyle)
    }
  }
  // The followed room's backlog arrived live and is on the reader's screen.
  expect(result.browser!.rooms[1]!.messagesOnScreen).toBeGreaterThanOrEqual(30)

  expect(result.capacity?.subscribed).toBe(result.capacity?.requested)
  // The PWA-shaped measurement: every connection also got its events.user stream.
  expect(result.capacity?.pwa).toMatchObject({ subscriptionErrors: 0 })
  expect(result.storm).not.toBeNull()
  expect(result.storm!.caughtUp).toBe(result.storm!.clients)
  expect(result.storm!.integrity).toMatchObject({ lost: 0, duplicates: 0, outOfOrder: 0, resets: 0, ahead: 0 })
  expect(result.storm!.integrity.delivered).toBeGreaterThan(0)
  // …and its clients reopened their events.user streams on the survivor, which started them all.
  expect(result.storm!.pwa).toMatchObject({ userStreamErrors: 0, userStreamsStartedS: expect.any(Number) })
  // Where the machine went during the storm: the survivor did the work.
  expect(result.storm!.cores?.node).toBeGreaterThan(0)
  // Resuming reads the log and loading users reads their rooms: the survivor's round trips are counted.
  expect(result.storm!.mongoRoundTrips).toBeGreaterThan(0)

  // The run names the code it measured.
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim()
  expect(result.source?.commit).toBe(head)
  expect(markdown).toContain(`on commit ${head.slice(0, 7)}`)

  for (const suffix of ['.json', '.md', '-p99.svg']) expect(file(suffix).length).toBeGreaterThan(100)
  expect(markdown).toContain('Read markers')
})
