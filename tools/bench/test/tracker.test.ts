import { expect, test } from 'vitest'
import { lostSeqs, trackSeq, type SeqTrack } from '../src/tracker.ts'

const run = (start: number, seqs: number[], final: number) => {
  const t: SeqTrack = { last: start, missing: null, duplicates: 0, outOfOrder: 0 }
  for (const s of seqs) trackSeq(t, s)
  return { lost: lostSeqs(t, final), duplicates: t.duplicates, outOfOrder: t.outOfOrder }
}

test('in order, complete', () => expect(run(5, [6, 7, 8], 8)).toEqual({ lost: 0, duplicates: 0, outOfOrder: 0 }))
test('missing at the end and in a gap', () => expect(run(0, [1, 3, 4], 6)).toEqual({ lost: 3, duplicates: 0, outOfOrder: 0 }))
test('duplicates', () => expect(run(0, [1, 2, 2, 1, 3], 3)).toEqual({ lost: 0, duplicates: 2, outOfOrder: 0 }))
test('a late fill is out of order, not lost', () => expect(run(0, [1, 3, 2, 4], 4)).toEqual({ lost: 0, duplicates: 0, outOfOrder: 1 }))
test('a fill seen twice is one reorder and one duplicate', () => expect(run(0, [2, 1, 1], 2)).toEqual({ lost: 0, duplicates: 1, outOfOrder: 1 }))
