/**
 * What counting unread messages needs of rooms' event logs — each event's seq
 * and, for a message, its author — kept for the rooms counted lately.
 *
 * A room's log is append-only and an event never changes once written, so
 * what one count read stays true for the next: only the part of a range past
 * what is kept needs reading. Without this, every `events.user` load and room
 * list of a crowd coming back read their rooms' whole unread ranges again —
 * in one storm, half a million events decoded by the node in 15 s. (Deleted
 * messages do change; unread.ts reads those every time.)
 *
 * A room keeps one run of consecutive seqs. Seqs are dense but two nodes
 * append to a room at once, so a read can see seq n + 2 before n + 1 is
 * written: a run ends at the first seq missing, and the next read starts there.
 */

/** A run holds seqs start + 1 … start + by.length. */
export interface Run {
  readonly start: number
  /**
   * Per seq: the author id (hex) of a `message.created` ('' if it has none),
   * null for any other event. It only grows at its end, so a reader that took
   * note of the length can keep using the run while it grows.
   */
  readonly by: (string | null)[]
}

/** One event of a room's log as counting sees it (`by` as in Run). */
export interface LogRow {
  seq: number
  by: string | null
}

export interface EventRunsOptions {
  /** Events kept over all rooms; the rooms counted longest ago go first (UNREAD_CACHE_EVENTS). */
  maxEvents: number
  /** Events kept per room; a longer run keeps its newer half. */
  maxRun: number
}

export function createEventRuns({ maxEvents, maxRun }: EventRunsOptions) {
  /** By room id (hex), the room counted longest ago first. */
  const runs = new Map<string, Run>()
  let total = 0
  /** One string per author, not one per event. */
  const authors = new Map<string, string>()

  function set(roomId: string, run: Run): void {
    const old = runs.get(roomId)
    if (old) total -= old.by.length
    runs.delete(roomId)
    runs.set(roomId, run)
    total += run.by.length
  }

  function trim(roomId: string): void {
    const run = runs.get(roomId)!
    if (run.by.length > maxRun) {
      const keep = Math.max(1, Math.floor(maxRun / 2))
      // A new run: readers of the old one keep theirs whole.
      set(roomId, { start: run.start + run.by.length - keep, by: run.by.slice(-keep) })
    }
    for (const [oldest, r] of runs) {
      if (total <= maxEvents || oldest === roomId) break
      runs.delete(oldest)
      total -= r.by.length
    }
  }

  return {
    /** The room's run, if one is kept (it becomes the most recently used). */
    get(roomId: string): Run | undefined {
      const run = runs.get(roomId)
      if (run) {
        runs.delete(roomId)
        runs.set(roomId, run)
      }
      return run
    },

    /** A read of the room's log after `from`, ascending seq: what runs on from `from` without a gap is kept. */
    add(roomId: string, from: number, rows: readonly LogRow[]): void {
      if (maxEvents === 0) return
      let n = 0
      while (n < rows.length && rows[n]!.seq === from + 1 + n) n++
      if (n === 0) return
      const by = (i: number): string | null => {
        const author = rows[i]!.by
        if (author === null) return null
        const known = authors.get(author)
        if (known !== undefined) return known
        if (authors.size >= maxEvents) authors.clear()
        authors.set(author, author)
        return author
      }
      const run = runs.get(roomId)
      const end = run ? run.start + run.by.length : 0
      if (run && from >= run.start && from <= end) {
        for (let i = end - from; i < n; i++) run.by.push(by(i))
        total += Math.max(0, from + n - end)
      } else if (run && from < run.start && from + n >= run.start) {
        const merged = Array.from({ length: run.start - from }, (_, i) => by(i)).concat(run.by)
        for (let i = end - from; i < n; i++) merged.push(by(i))
        set(roomId, { start: from, by: merged })
      } else {
        set(roomId, { start: from, by: Array.from({ length: n }, (_, i) => by(i)) })
      }
      trim(roomId)
    },

    /** Events kept, over all rooms. */
    get size(): number {
      return total
    },
  }
}
export type EventRuns = ReturnType<typeof createEventRuns>
