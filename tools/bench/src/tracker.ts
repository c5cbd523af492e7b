/**
 * Exact loss / duplicate / reorder accounting for one (recipient, room)
 * subscription, from the room seqs it receives. A gap is remembered (not yet
 * lost: it may still be filled); a seq that fills a gap counts as
 * out-of-order; a seq seen before counts as a duplicate; at the end,
 * whatever is still missing or short of the room's final seq is lost.
 */
export interface SeqTrack {
  last: number
  missing: Set<number> | null
  duplicates: number
  outOfOrder: number
}

export function trackSeq(t: SeqTrack, seq: number): void {
  if (seq === t.last + 1) t.last = seq
  else if (seq > t.last) {
    t.missing ??= new Set()
    for (let s = t.last + 1; s < seq; s++) t.missing.add(s)
    t.last = seq
  } else if (t.missing?.delete(seq)) t.outOfOrder++
  else t.duplicates++
}

/** Events of the room up to `finalSeq` this subscription never got. */
export function lostSeqs(t: SeqTrack, finalSeq: number): number {
  return (t.missing?.size ?? 0) + Math.max(0, finalSeq - t.last)
}
