/**
 * Detects a subscriber that stopped receiving without its socket closing (a
 * half-open TCP connection, or Redis having dropped the subscription): the
 * node publishes a numbered heartbeat on its own channel and expects to hear
 * it back. Pure bookkeeping; the bus does the publishing and reconnecting.
 */
export class HeartbeatMonitor {
  private seq = 0
  private heardSeq = 0
  private heardAt: number
  /** Heartbeats Redis accepted (PUBLISH answered) that we haven't heard back. */
  private unheard = 0

  constructor(
    private readonly intervalMs: number,
    private readonly missed: number,
    private readonly now: () => number = Date.now,
  ) {
    this.heardAt = now()
  }

  /** The number to publish next. */
  next(): number {
    return ++this.seq
  }

  /** Redis accepted heartbeat `seq`. */
  published(seq: number): void {
    // Its echo may arrive before PUBLISH's reply; then it isn't missing.
    if (seq > this.heardSeq) this.unheard++
  }

  heard(payload: string): void {
    this.heardSeq = Math.max(this.heardSeq, Number(payload) || 0)
    this.heardAt = this.now()
    this.unheard = 0
  }

  /** A fresh subscriber connection: start counting again. */
  reset(): void {
    this.heardSeq = this.seq
    this.heardAt = this.now()
    this.unheard = 0
  }

  /** Silent for `missed` intervals although Redis kept accepting our heartbeats. */
  silentForMs(): number | undefined {
    const silent = this.now() - this.heardAt
    return this.unheard >= this.missed - 1 && silent >= this.missed * this.intervalMs ? silent : undefined
  }
}
