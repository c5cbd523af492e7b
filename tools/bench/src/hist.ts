/**
 * Latency recording at a few nanoseconds per value. hdr-histogram-js's
 * `recordValue` costs ~200 ns (measured), a noticeable share of the load
 * generator's budget per delivery, so values are counted here in exactly the
 * buckets of an HDR histogram with lowestDiscernibleValue 1, 3 significant
 * digits (sub-bucket count 2048) and highestTrackableValue < 2^32, and
 * turned into a real HdrHistogram only when reported. Recording a bucket's
 * lowest equivalent value with its count gives the histogram the same counts
 * as recording every value; after the compressed encoding the reports carry,
 * the result is identical (test/hist.test.ts checks it).
 */
import hdr from 'hdr-histogram-js'

/** µs; values above are clamped (an hour of latency is a dead run anyway). */
export const HIGHEST_TRACKABLE = 3_600_000_000

const SUB_BUCKET_HALF_COUNT_MAGNITUDE = 10 // 3 significant digits → 2048 sub-buckets
const SUB_BUCKET_HALF_COUNT = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE
const SUB_BUCKET_MASK = 2 * SUB_BUCKET_HALF_COUNT - 1
const BUCKETS = 22 // bucket index ≤ 21 for values < 2^32

export const newHdr = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_TRACKABLE, numberOfSignificantValueDigits: 3 })

export class LatencyCounts {
  private readonly counts = new Float64Array((BUCKETS + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE)
  total = 0

  /** Records `us` (rounded, at least 1, at most HIGHEST_TRACKABLE), like `recordValue(Math.max(1, Math.round(us)))`. */
  record(us: number): void {
    let v = Math.round(us)
    if (!(v >= 1)) v = 1 // also NaN
    else if (v > HIGHEST_TRACKABLE) v = HIGHEST_TRACKABLE
    // HdrHistogram: bucket = 53 - clz64(v | mask) with unitMagnitude 0; v < 2^32 so clz64 = 32 + clz32.
    const bucket = 21 - Math.clz32(v | SUB_BUCKET_MASK)
    const sub = v >>> bucket
    this.counts[((bucket + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + (sub - SUB_BUCKET_HALF_COUNT)]!++
    this.total++
  }

  /** An HDR histogram holding the same counts. */
  toHdr(): ReturnType<typeof newHdr> {
    const h = newHdr()
    const c = this.counts
    for (let i = 0; i < c.length; i++) {
      const n = c[i]!
      if (n === 0) continue
      // Index → (bucket, sub-bucket) → the bucket's lowest equivalent value.
      let bucket = (i >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) - 1
      let sub = (i & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT
      if (bucket < 0) {
        sub -= SUB_BUCKET_HALF_COUNT
        bucket = 0
      }
      h.recordValueWithCount(sub * 2 ** bucket, n)
    }
    return h
  }

  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.toHdr())
  }
}
