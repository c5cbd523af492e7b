import DataLoader from 'dataloader'

/**
 * Under load, a lookup's query leaves at most this long after the previous
 * one of the same kind, so the lookups asked for meanwhile share it. Idle, a
 * lookup goes at once (end of the current turn). A query costs the driver
 * ~200 µs of CPU here: in a reconnect storm, one query per handshake per
 * lookup was a third of the node's work. 20 ms, not 5: a storm of 5,000
 * PWA clients made ~70 % fewer round trips and caught up sooner
 * (docs/performance.md, "Lookups share a wider window"); a lookup waits only
 * when another of its kind left less than this long ago (LOOKUP_BATCH_WINDOW_MS).
 */
export const DEFAULT_LOOKUP_WINDOW_MS = 20

/** What repositories take to size their lookups' window (see DEFAULT_LOOKUP_WINDOW_MS). */
export interface LookupOptions {
  lookupWindowMs?: number
}

/**
 * Point lookups made in the same turn of the event loop — or, under load,
 * within BUSY_WINDOW_MS — go to MongoDB as one `$in` query. When thousands of
 * clients reconnect at once (a node died and its clients moved here), each
 * would otherwise cost a round trip for its session, its user and its room
 * checks. Nothing is cached: every lookup reads what is in the database after
 * it was asked for.
 */
export type BatchOptions<K, V> = {
  key: (k: K) => string
  /** Everything matching `keys`, each key once (extra documents are ignored). */
  fetch: (keys: readonly K[]) => Promise<V[]>
  keyOf: (v: V) => string
  /** Defaults to DEFAULT_LOOKUP_WINDOW_MS; tests widen it so a slow machine's turns still fall inside. */
  busyWindowMs?: number
}

export function batchedLookup<K, V>(options: BatchOptions<K, V>): (k: K) => Promise<V | null> {
  return batched(options, (found, key) => found.get(key)?.[0] ?? null)
}

/**
 * The same batching for lookups that find many documents per key (a room's
 * members): every caller gets all the documents of its key, in fetch order.
 */
export function batchedGroups<K, V>(options: BatchOptions<K, V>): (k: K) => Promise<V[]> {
  return batched(options, (found, key) => found.get(key) ?? [])
}

function batched<K, V, R>(options: BatchOptions<K, V>, pick: (found: Map<string, V[]>, key: string) => R): (k: K) => Promise<R> {
  const busyWindow = options.busyWindowMs ?? DEFAULT_LOOKUP_WINDOW_MS
  let lastDispatch = -Infinity
  const schedule = (run: () => void): void => {
    const wait = lastDispatch + busyWindow - performance.now()
    const dispatch = () => {
      lastDispatch = performance.now()
      run()
    }
    if (wait > 0) setTimeout(dispatch, wait)
    // Gather every lookup of this loop iteration (many sockets' callbacks), not only one callback's.
    else setImmediate(dispatch)
  }
  const loader = new DataLoader<K, R, string>(
    async (keys) => {
      const found = new Map<string, V[]>()
      // Callers asking for the same key in one batch share its documents: fetch it once.
      const distinct = [...new Map(keys.map((k) => [options.key(k), k])).values()]
      for (const v of await options.fetch(distinct)) {
        const k = options.keyOf(v)
        const group = found.get(k)
        if (group) group.push(v)
        else found.set(k, [v])
      }
      return keys.map((k) => pick(found, options.key(k)))
    },
    {
      cache: false,
      cacheKeyFn: options.key,
      // The embedded server plans `$in` lists up to 200 values on an index.
      maxBatchSize: 200,
      batchScheduleFn: schedule,
    },
  )
  return (k) => loader.load(k)
}
