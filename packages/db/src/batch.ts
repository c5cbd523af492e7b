import DataLoader from 'dataloader'

/**
 * Under load, a lookup's query leaves at most BUSY_WINDOW_MS after the
 * previous one of the same kind, so the lookups asked for meanwhile share it.
 * Idle, a lookup goes at once (end of the current turn). A query costs the
 * driver ~200 µs of CPU here: in a reconnect storm, one query per handshake
 * per lookup was a third of the node's work.
 */
const BUSY_WINDOW_MS = 5

/**
 * Once a query was shared by several callers — a crowd: a reconnect storm's
 * handshakes, loads and room lists — the next one of its kind waits this long
 * instead (LOOKUP_BATCH_WINDOW_MS). A storm of 5,000 PWA clients then made a
 * quarter of the round trips and caught up sooner (docs/performance.md,
 * "Lookups share a wider window"), while a send whose membership fell out of
 * the cache, alone in its query, still waits at most BUSY_WINDOW_MS: 20 ms
 * for every lookup tripled the median send at 5,000 deliveries/s.
 */
export const DEFAULT_LOOKUP_WINDOW_MS = 20

/** What repositories take to size their lookups' crowd window (see DEFAULT_LOOKUP_WINDOW_MS). */
export interface LookupOptions {
  lookupWindowMs?: number
}

/**
 * Point lookups made in the same turn of the event loop — or, under load,
 * within the windows above — go to MongoDB as one `$in` query. When thousands
 * of clients reconnect at once (a node died and its clients moved here), each
 * would otherwise cost a round trip for its session, its user and its room
 * checks. Nothing is cached: every lookup reads what is in the database after
 * it was asked for.
 */
export type BatchOptions<K, V> = {
  key: (k: K) => string
  /** Everything matching `keys`, each key once (extra documents are ignored). */
  fetch: (keys: readonly K[]) => Promise<V[]>
  keyOf: (v: V) => string
  /** Defaults to BUSY_WINDOW_MS; tests widen it so a slow machine's turns still fall inside. */
  busyWindowMs?: number
  /** After a query shared by several callers; defaults to DEFAULT_LOOKUP_WINDOW_MS (never below busyWindowMs). */
  crowdWindowMs?: number | undefined
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
  const busyWindow = options.busyWindowMs ?? BUSY_WINDOW_MS
  const crowdWindow = Math.max(busyWindow, options.crowdWindowMs ?? DEFAULT_LOOKUP_WINDOW_MS)
  let lastDispatch = -Infinity
  let lastShared = false
  const schedule = (run: () => void): void => {
    const wait = lastDispatch + (lastShared ? crowdWindow : busyWindow) - performance.now()
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
      // Callers, not distinct keys: counting keys gave storms more round trips and no gain at low rates (performance.md, "Tried and did not pay").
      lastShared = keys.length > 1
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
