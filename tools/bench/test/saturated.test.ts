import { expect, test } from 'vitest'
import { saturated } from '../src/report.ts'

test('stepping stops after a step that did not drain or whose p99 is over the limit, and only then', () => {
  expect(saturated(3, 1000, 1000, 80, 15_000, 2000)).toBeNull()
  expect(saturated(3, 990, 1000, 80, 15_000, 2000)).toBe('step 3 did not drain within 15 s (10 deliveries outstanding)')
  expect(saturated(4, 1000, 1000, 2500.4, 15_000, 2000)).toBe('step 4 p99 2500 ms > --max-p99 2000 ms (saturated)')
})
