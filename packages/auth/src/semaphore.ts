/** A counting semaphore: at most `max` holders; the rest wait in FIFO order (up to `maxQueue`). */
export class Semaphore {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(
    private readonly max: number,
    private readonly maxQueue = Infinity,
  ) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError('Semaphore max must be a positive integer')
  }

  get pending(): number {
    return this.waiting.length
  }

  get running(): number {
    return this.active
  }

  /** Runs `fn` once a slot is free. Throws `SemaphoreFullError` when the queue is full. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) {
      if (this.waiting.length >= this.maxQueue) throw new SemaphoreFullError()
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else {
      this.active++
    }
    try {
      return await fn()
    } finally {
      const next = this.waiting.shift()
      // Hand the slot straight to the next waiter; otherwise release it.
      if (next) next()
      else this.active--
    }
  }
}

export class SemaphoreFullError extends Error {
  constructor() {
    super('Too many operations waiting')
  }
}
