// Ordered set of (key, rid) entries backing one index.
//
// A two-level sorted structure (a B-tree of height two): a sorted list of
// chunks, each a sorted array of at most CHUNK_MAX entries. Finding a chunk and
// a position are both binary searches, and an insert only shifts one small
// chunk, so inserts/deletes are O(log n + CHUNK_MAX) and range scans are
// O(log n + results) — enough for millions of entries without a full B-tree.
// Keys are the order-preserving strings from keys.ts; rid breaks ties so that
// non-unique indexes can hold equal keys.

export interface Entry {
  readonly k: string
  readonly r: number
}

const CHUNK_MAX = 512

function cmp(e: Entry, k: string, r: number): number {
  if (e.k < k) return -1
  if (e.k > k) return 1
  return e.r - r
}

export class IndexTree {
  private chunks: Entry[][] = []
  size = 0

  /** Index of the chunk that should contain (k, r): the last chunk whose first entry is <= (k, r). */
  private chunkFor(k: string, r: number): number {
    let lo = 0
    let hi = this.chunks.length - 1
    let ans = 0
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (cmp((this.chunks[mid] as Entry[])[0] as Entry, k, r) <= 0) {
        ans = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    return ans
  }

  private static lowerBound(chunk: Entry[], k: string, r: number): number {
    let lo = 0
    let hi = chunk.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cmp(chunk[mid] as Entry, k, r) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  insert(k: string, r: number): void {
    const entry = { k, r }
    this.size++
    if (this.chunks.length === 0) {
      this.chunks.push([entry])
      return
    }
    const ci = this.chunkFor(k, r)
    const chunk = this.chunks[ci] as Entry[]
    const pos = IndexTree.lowerBound(chunk, k, r)
    // Appending in key order (e.g. increasing seq) is the common case: push is cheapest.
    if (pos === chunk.length) chunk.push(entry)
    else chunk.splice(pos, 0, entry)
    if (chunk.length > CHUNK_MAX) this.chunks.splice(ci + 1, 0, chunk.splice(chunk.length >> 1))
  }

  remove(k: string, r: number): boolean {
    if (this.chunks.length === 0) return false
    const ci = this.chunkFor(k, r)
    const chunk = this.chunks[ci] as Entry[]
    const pos = IndexTree.lowerBound(chunk, k, r)
    const e = chunk[pos]
    if (!e || e.k !== k || e.r !== r) return false
    chunk.splice(pos, 1)
    this.size--
    if (chunk.length === 0) this.chunks.splice(ci, 1)
    return true
  }

  /** rid of some entry with exactly key `k` other than `exceptRid`, if any (unique-constraint check). */
  findOther(k: string, exceptRid: number): number | undefined {
    if (this.chunks.length === 0) return undefined
    let [ci, pos] = this.seek(k)
    for (; ci < this.chunks.length; ci++, pos = 0) {
      const chunk = this.chunks[ci] as Entry[]
      for (; pos < chunk.length; pos++) {
        const e = chunk[pos] as Entry
        if (e.k !== k) return undefined
        if (e.r !== exceptRid) return e.r
      }
    }
    return undefined
  }

  /** rid of the first entry with exactly key `k` (lowest rid), if any. */
  first(k: string): number | undefined {
    if (this.chunks.length === 0) return undefined
    const [ci, pos] = this.seek(k)
    const e = this.chunks[ci]?.[pos]
    return e && e.k === k ? e.r : undefined
  }

  /** Position of the first entry with key >= k, as [chunk, offset]. */
  private seek(k: string): [number, number] {
    // Last chunk whose first key < k, then lower bound inside it (may point past its end).
    let lo = 0
    let hi = this.chunks.length - 1
    let ci = 0
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (((this.chunks[mid] as Entry[])[0] as Entry).k < k) {
        ci = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    const chunk = this.chunks[ci]
    if (!chunk) return [0, 0]
    const pos = IndexTree.lowerBound(chunk, k, -Infinity)
    return pos < chunk.length ? [ci, pos] : [ci + 1, 0]
  }

  /** Entries with lo <= key < hi, ascending or descending. The tree must not be mutated while iterating. */
  *range(lo: string, hi: string, reverse: boolean): Generator<Entry> {
    if (this.chunks.length === 0 || lo >= hi) return
    if (!reverse) {
      let [ci, pos] = this.seek(lo)
      while (ci < this.chunks.length) {
        const chunk = this.chunks[ci] as Entry[]
        for (; pos < chunk.length; pos++) {
          const e = chunk[pos] as Entry
          if (e.k >= hi) return
          yield e
        }
        ci++
        pos = 0
      }
    } else {
      let [ci, pos] = this.seek(hi)
      pos-- // first entry with key < hi
      if (pos < 0) {
        ci--
        pos = ci >= 0 ? (this.chunks[ci] as Entry[]).length - 1 : -1
      }
      while (ci >= 0) {
        const chunk = this.chunks[ci] as Entry[]
        for (; pos >= 0; pos--) {
          const e = chunk[pos] as Entry
          if (e.k < lo) return
          yield e
        }
        ci--
        pos = ci >= 0 ? (this.chunks[ci] as Entry[]).length - 1 : -1
      }
    }
  }

  *all(): Generator<Entry> {
    for (const chunk of this.chunks) yield* chunk
  }

  clear(): void {
    this.chunks = []
    this.size = 0
  }
}
