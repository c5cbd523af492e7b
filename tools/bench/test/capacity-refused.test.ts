/**
 * The capacity phase asked for more connections than a node holds: the node
 * refuses the surplus at once (its MAX_CONNECTIONS), the benchmark reports
 * them as not opened and measures the rest, and the load step after it
 * still delivers every message.
 */
import { expect, test } from 'vitest'
import type { BenchResult } from '../src/report.ts'
import { benchRunner } from './run-bench.ts'

const bench = benchRunner()

test(
  'past the node’s MAX_CONNECTIONS the surplus is reported as not opened, the rest measured, nothing lost',
  { timeout: 120_000 },
  async () => {
    const args = [
      '--smoke',
      '--capacity',
      '300',
      '--capacity-room-only',
      '--steps',
      '400',
      '--storm',
      '0',
      '--browser',
      '0',
    ]
    const { result, output, markdown } = await bench<BenchResult>('capacity', args, { ...process.env, MAX_CONNECTIONS: '150' })
    const capacity = result.capacity!
    expect(capacity.requested).toBe(300)
    // The node's 150 slots also hold the load's own sockets: fewer than 150 capacity connections, but most of them.
    expect(capacity.open).toBeLessThan(150)
    expect(capacity.open).toBeGreaterThan(100)
    expect(capacity.subscribed).toBe(capacity.open)
    expect(output).toMatch(
      /capacity: \d+ idle connections open on bench-a in [\d.]+ s \(\d+ of 300 not opened/,
    )
    expect(markdown).toContain(`Asked for 300: ${300 - capacity.open} not opened`)
    expect(result.steps[0]!.delivered).toBe(result.steps[0]!.expectedDeliveries)
    expect(result.integrity).toMatchObject({ lost: 0, duplicates: 0, outOfOrder: 0, resets: 0 })
  },
)
