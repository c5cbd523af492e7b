import hdr from 'hdr-histogram-js'
import { expect, test } from 'vitest'
import { HIGHEST_TRACKABLE, LatencyCounts, newHdr } from '../src/hist.ts'

test('LatencyCounts reports exactly what recording every value in an HdrHistogram does', () => {
  const counts = new LatencyCounts()
  const ref = newHdr()
  let seed = 42
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  const values: number[] = [0, 0.4, 0.6, 1, 1.5, 2047, 2048, 2049, 4095, 4096, 1e6 + 0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, HIGHEST_TRACKABLE - 1, HIGHEST_TRACKABLE]
  // Log-uniform from 1 µs to an hour, plus some clustering.
  for (let i = 0; i < 200_000; i++) values.push(Math.exp(rand() * Math.log(HIGHEST_TRACKABLE)))
  for (let i = 0; i < 50_000; i++) values.push(5_000 + rand() * 3_000)
  for (const us of values) {
    counts.record(us)
    ref.recordValue(Math.max(1, Math.round(us)))
  }
  expect(counts.total).toBe(values.length)
  const mine = hdr.decodeFromCompressedBase64(counts.encode())
  const theirs = hdr.decodeFromCompressedBase64(hdr.encodeIntoCompressedBase64(ref))
  expect(mine.totalCount).toBe(theirs.totalCount)
  for (const p of [0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 99.999, 100]) expect(mine.getValueAtPercentile(p), `p${p}`).toBe(theirs.getValueAtPercentile(p))
  expect(mine.minNonZeroValue).toBe(theirs.minNonZeroValue)
  expect(mine.maxValue).toBe(theirs.maxValue)
  expect(mine.mean).toBe(theirs.mean)
  // Bucket by bucket.
  const a = mine.toJSON()
  const b = theirs.toJSON()
  expect(a).toEqual(b)
})

test('out-of-range values are clamped, not thrown', () => {
  const counts = new LatencyCounts()
  counts.record(NaN)
  counts.record(-5)
  counts.record(HIGHEST_TRACKABLE * 10)
  const h = counts.toHdr()
  expect(h.totalCount).toBe(3)
  expect(h.getValueAtPercentile(100)).toBeGreaterThanOrEqual(HIGHEST_TRACKABLE * 0.999)
})
