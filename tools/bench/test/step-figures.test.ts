import { expect, test } from 'vitest'
import { drained } from '../src/step-figures.ts'

test('a step has drained when the generators together have every expected delivery, wherever it landed', () => {
  // Worker 0's sends were delivered to worker 1's sockets as well: each worker's own counts do not balance, the sums do.
  expect(drained([{ outstanding: 0, delivered: 30, expected: 10 }, { outstanding: 0, delivered: 0, expected: 20 }])).toBe(true)
  expect(drained([{ outstanding: 0, delivered: 29, expected: 10 }, { outstanding: 0, delivered: 0, expected: 20 }])).toBe(false)
  // A send still unanswered may yet add deliveries.
  expect(drained([{ outstanding: 1, delivered: 30, expected: 30 }])).toBe(false)
})
