/**
 * What an orchestrator (main.ts, reference/socketio.ts) makes of its load
 * generators' per-step figures: whether a step has drained, and the
 * merged latency histograms.
 */
import hdr from 'hdr-histogram-js'
import { percentiles, type Percentiles } from './report.ts'

interface Counts {
  outstanding: number
  delivered: number
  expected: number
}

/** Every send answered and every expected delivery in. A worker's sends are delivered to every worker's sockets, so the sums decide, not each worker's own counts. */
export function drained(stats: Counts[]): boolean {
  const sum = (f: (s: Counts) => number) => stats.reduce((a, s) => a + f(s), 0)
  return sum((s) => s.outstanding) === 0 && sum((s) => s.delivered) >= sum((s) => s.expected)
}

/** Polls the generators until the step has drained, `limitMs` has passed or `abort()` says so; returns how long it waited (ms). */
export async function waitDrained(poll: () => Promise<Counts[]>, limitMs: number, abort = () => false): Promise<number> {
  const start = Date.now()
  while (!drained(await poll()) && Date.now() - start <= limitMs && !abort()) await new Promise((r) => setTimeout(r, 200))
  return Date.now() - start
}

/** The generators' histograms (HDR compressed base64, µs) merged: send→receive and acknowledgement percentiles in ms. */
export function mergedLatency(stats: { latency: string; ack: string }[]): { latencyMs: Percentiles; ackMs: Percentiles } {
  const lat = hdr.build()
  const ack = hdr.build()
  for (const s of stats) {
    lat.add(hdr.decodeFromCompressedBase64(s.latency))
    ack.add(hdr.decodeFromCompressedBase64(s.ack))
  }
  return { latencyMs: percentiles(lat), ackMs: percentiles(ack) }
}
