/**
 * What a load generator does with every delivery (docs/performance.md, "What
 * is measured"), kept free of I/O so the receive microbenchmark drives
 * exactly this code:
 *
 * - integrity, per (recipient, room) subscription, from the tracked id (the
 *   room seq): tracker.ts;
 * - latency, for each `message.created` whose body carries the bench stamp
 *   `step:intendedNs:senderNode:`: hrtime now − intended send time, in µs,
 *   into the step's histogram (hist.ts);
 * - per step: deliveries, cross-node deliveries, the time of the last one.
 */
import type { ServerMsg } from './frames.ts'
import { LatencyCounts } from './hist.ts'
import type { StepStats } from './protocol.ts'
import { trackSeq } from './tracker.ts'

export const nowNs = (): number => Number(process.hrtime.bigint())

export interface Track {
  room: number
  /** Node the recipient is connected to now. */
  node: number
  last: number
  missing: Set<number> | null
  duplicates: number
  outOfOrder: number
  resets: number
  delivered: number
  errored: boolean
  // storm only
  resubscribed: boolean
  caughtUp: boolean
}

export function newTrack(room: number, node: number, last: number): Track {
  return { room, node, last, missing: null, duplicates: 0, outOfOrder: 0, resets: 0, delivered: 0, errored: false, resubscribed: false, caughtUp: false }
}

/** A step's figures while it runs: StepStats with live latency counts instead of encoded histograms. */
export interface StepState extends Omit<StepStats, 'step' | 'latency' | 'ack'> {
  latency: LatencyCounts
  ack: LatencyCounts
}

export class Recorder {
  readonly steps = new Map<number, StepState>()
  private lastStep = NaN
  private lastState: StepState | null = null
  /** Called after a tracked event reaches a storm client that resumed but is not caught up yet. */
  onResumedProgress: ((t: Track) => void) | null = null

  stepState(step: number): StepState {
    if (step === this.lastStep && this.lastState) return this.lastState
    let s = this.steps.get(step)
    if (!s) {
      s = { sent: 0, acked: 0, errors: {}, outstanding: 0, expected: 0, delivered: 0, crossNode: 0, lastDeliveryNs: 0, worstBySecond: {}, markers: 0, latency: new LatencyCounts(), ack: new LatencyCounts() }
      this.steps.set(step, s)
    }
    this.lastStep = step
    this.lastState = s
    return s
  }

  /** One data message of subscription `t`. `m` is only valid during the call. */
  onEvent(t: Track, m: ServerMsg): void {
    if (m.eventType === 'reset') {
      t.resets++
      if (!Number.isNaN(m.seq)) t.last = Math.max(t.last, m.seq)
      return
    }
    if (!m.tracked) return // typing and other untracked signals
    trackSeq(t, m.trackedId)
    t.delivered++
    // A storm client that resumed is caught up once it has everything acknowledged before the kill.
    if (t.resubscribed && !t.caughtUp) this.onResumedProgress?.(t)
    if (m.stamped) {
      const s = this.stepState(m.step)
      s.delivered++
      if (m.senderNode !== t.node) s.crossNode++
      const now = nowNs()
      s.lastDeliveryNs = now
      const us = (now - m.intendedNs) / 1000
      s.latency.record(us)
      const second = Math.floor(m.intendedNs / 1e9)
      if (us > (s.worstBySecond[second] ?? 0)) s.worstBySecond[second] = us
    }
  }
}
