import { expect, it } from 'vitest'
import { createEventRuns, type LogRow } from '../src/repos/event-runs.ts'

/** Rows for seqs from + 1 … to, by `who(seq)`. */
const rows = (from: number, to: number, who: (seq: number) => string | null = (s) => `a${s % 3}`): LogRow[] =>
  Array.from({ length: to - from }, (_, i) => ({ seq: from + 1 + i, by: who(from + 1 + i) }))
const seqsOf = (run: { start: number; by: unknown[] } | undefined) => run && [run.start + 1, run.start + run.by.length]

it('keeps one run of consecutive seqs per room: extended at either end, cut at the first seq missing', () => {
  const runs = createEventRuns({ maxEvents: 1000, maxRun: 1000 })
  runs.add('r', 10, rows(10, 20))
  expect(seqsOf(runs.get('r'))).toEqual([11, 20])
  // Overlapping the end: only the new seqs are added.
  runs.add('r', 15, rows(15, 25))
  expect(seqsOf(runs.get('r'))).toEqual([11, 25])
  // Reaching its start from before: one run.
  runs.add('r', 5, rows(5, 12))
  expect(seqsOf(runs.get('r'))).toEqual([6, 25])
  expect(runs.get('r')!.by.slice(0, 7)).toEqual(rows(5, 12).map((r) => r.by))
  // A gap: seq 27 read while 26 is not yet written; nothing past the gap is kept.
  runs.add('r', 25, [...rows(27, 29)])
  expect(seqsOf(runs.get('r'))).toEqual([6, 25])
  runs.add('r', 25, [{ seq: 26, by: null }, { seq: 28, by: 'x' }])
  expect(seqsOf(runs.get('r'))).toEqual([6, 26])
  // Not touching the run: replaces it (the newer read).
  runs.add('r', 100, rows(100, 103))
  expect(seqsOf(runs.get('r'))).toEqual([101, 103])
  expect(runs.size).toBe(3)
})

it('keeps the newer half of a run past maxRun, and forgets the rooms counted longest ago past maxEvents', () => {
  const runs = createEventRuns({ maxEvents: 30, maxRun: 20 })
  runs.add('a', 0, rows(0, 25))
  expect(seqsOf(runs.get('a'))).toEqual([16, 25])
  runs.add('b', 0, rows(0, 10))
  runs.add('c', 0, rows(0, 10))
  expect(runs.size).toBe(30)
  runs.get('a') // counted again: now the most recent
  runs.add('d', 0, rows(0, 5))
  expect(runs.get('b')).toBeUndefined()
  expect(seqsOf(runs.get('a'))).toEqual([16, 25])
  expect(runs.size).toBe(25)
  const none = createEventRuns({ maxEvents: 0, maxRun: 20 })
  none.add('a', 0, rows(0, 5))
  expect(none.get('a')).toBeUndefined()
})
