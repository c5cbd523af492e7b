/**
 * What a node holds for a connection comes back when the connection closes:
 * after thousands of subscribed connections (each with the PWA's two
 * streams) open and close, a collected heap is back near where it started.
 * A per-connection leak (a guard record, a stream, a listener left behind)
 * would keep a share of it.
 */
import { expect, test } from 'vitest'
import type { BenchResult } from '../src/report.ts'
import { benchRunner } from './run-bench.ts'

const bench = benchRunner()

test('3,000 connections opened, subscribed as the PWA does and closed: the node gives back what they held', { timeout: 180_000 }, async () => {
  const args = ['--smoke', '--capacity', '3000', '--steps', '400', '--storm', '0', '--browser', '0']
  const { result, output, markdown } = await bench<BenchResult>('capacity-returns', args)
  const capacity = result.capacity!
  expect(capacity.subscribed).toBe(3000)
  expect(capacity.pwa).toMatchObject({ subscriptionErrors: 0 })
  expect(capacity.afterClose?.connections).toBe(0)
  const heldMiB = (capacity.pwa!.heapKiBPerConnection * capacity.open) / 1024
  const keptMiB = capacity.afterClose!.heapMiB - capacity.heapBaselineMiB!
  // ~40 MiB held; what stays is the caches the connections warmed (sessions, memberships), a few MiB.
  expect(heldMiB, output).toBeGreaterThan(20)
  expect(keptMiB, output).toBeLessThan(heldMiB / 4)
  expect(markdown).toContain('Once they had all closed (0 left open)')
  // The load after it still delivers everything.
  expect(result.steps[0]!.delivered).toBe(result.steps[0]!.expectedDeliveries)
})
