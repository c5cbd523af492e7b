/**
 * `pnpm bench --reference socketio[-mongo] --smoke`: the reference stack's load
 * steps (Socket.IO + Redis adapter on a real redis-server, two nodes, the
 * load generators) run end to end and account for every delivery, so the
 * comparison in docs/performance.md can be re-run at any time.
 */
import { expect, test } from 'vitest'
import type { ReferenceStep } from '../src/reference/socketio.ts'
import type { BenchResult } from '../src/report.ts'
import type { RefIntegrity } from '../src/reference/socketio-worker.ts'
import { benchRunner } from './run-bench.ts'

const bench = benchRunner()

test.each([
  ['socketio', false],
  ['socketio-mongo', true],
] as const)('pnpm bench --reference %s --smoke: every delivery measured and accounted for', { timeout: 120_000 }, async (stack, persist) => {
  const { result, markdown } = await bench<{ steps: ReferenceStep[]; integrity: RefIntegrity; persisted: number | null; failures: string[]; source: BenchResult['source'] }>(`reference-${stack}`, ['--reference', stack, '--smoke'])
  expect(result.steps.length).toBe(2)
  for (const s of result.steps) {
    expect(s.delivered).toBeGreaterThan(0)
    expect(s.delivered).toBe(s.expected)
    expect(s.latencyMs.count).toBe(s.delivered)
    // Real send→receive times (a stamp misread shows up as ~0 or as hours).
    expect(s.latencyMs.p50).toBeGreaterThan(0.05)
    expect(s.latencyMs.max).toBeLessThan(60_000)
    expect(s.cores.nodes).toBeGreaterThan(0)
    if (persist) expect(s.cores.mongo).toBeGreaterThan(0)
  }
  expect(result.integrity).toMatchObject({ lost: 0, duplicates: 0, unexpectedCloses: 0 })
  expect(result.integrity.delivered).toBeGreaterThan(0)
  // The persisting variant wrote every message it acknowledged (counted in MongoDB after the run).
  if (persist) expect(result.persisted).toBeGreaterThan(0)
  else expect(result.persisted).toBeNull()
  expect(markdown).toContain('| step |')
  // …and names the code it measured.
  expect(result.source?.commit).toMatch(/^[0-9a-f]{40}$/)
  expect(markdown).toContain(`on commit ${result.source!.commit.slice(0, 7)}`)
})
