import DataLoader from 'dataloader'

/**
 * Point lookups made in the same turn of the event loop go to MongoDB as one
 * `$in` query. When thousands of clients reconnect at once (a node died and
 * its clients moved here), each would otherwise cost a round trip for its
 * session, its user and its room checks. Nothing is cached: every lookup
 * reads what is in the database after it was asked for.
 */
export function batchedLookup<K, V>(options: {
  key: (k: K) => string
  /** Everything matching `keys` (extra documents are ignored). */
  fetch: (keys: readonly K[]) => Promise<V[]>
  keyOf: (v: V) => string
}): (k: K) => Promise<V | null> {
  const loader = new DataLoader<K, V | null, string>(
    async (keys) => {
      const found = new Map<string, V>()
      for (const v of await options.fetch(keys)) found.set(options.keyOf(v), v)
      return keys.map((k) => found.get(options.key(k)) ?? null)
    },
    {
      cache: false,
      cacheKeyFn: options.key,
      // The embedded server plans `$in` lists up to 200 values on an index.
      maxBatchSize: 200,
      // Gather every lookup of this loop iteration (many sockets' callbacks), not only one callback's.
      batchScheduleFn: (run) => setImmediate(run),
    },
  )
  return (k) => loader.load(k)
}
