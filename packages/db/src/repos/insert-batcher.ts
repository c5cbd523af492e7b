import { MongoBulkWriteError, MongoServerError, type Collection, type Document, type OptionalUnlessRequiredId } from 'mongodb'

/** Documents per command; the driver splits further by size if it must. */
const MAX_BATCH = 500

interface Pending<T> {
  doc: T
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Group commit for single-document inserts. Documents handed in during one
 * event-loop turn go to the server as one unordered `insert` command instead
 * of one command each: one write, one frame to encode and parse, one reply,
 * on both sides. Under load, concurrent sends arrive in the same turn (their
 * rate-limit replies come back together), so their writes share commands;
 * a lone document goes through `insertOne` exactly as before.
 *
 * Each caller still gets its own outcome: the promise resolves once its
 * document is stored and rejects with the error `insertOne` would have thrown
 * for it (a duplicate key is a `MongoServerError` with code 11000 naming the
 * index), so callers handle conflicts exactly as before. Unordered: one
 * document's failure does not stop the others.
 */
export function createInsertBatcher<T extends Document>(collection: Collection<T>): (doc: OptionalUnlessRequiredId<T>) => Promise<void> {
  type Doc = OptionalUnlessRequiredId<T>
  let queue: Pending<Doc>[] = []

  const flush = (): void => {
    const all = queue
    queue = []
    for (let i = 0; i < all.length; i += MAX_BATCH) void write(all.length <= MAX_BATCH ? all : all.slice(i, i + MAX_BATCH))
  }

  async function write(batch: Pending<Doc>[]): Promise<void> {
    if (batch.length === 1) {
      const only = batch[0] as Pending<Doc>
      try {
        await collection.insertOne(only.doc)
        only.resolve()
      } catch (err) {
        only.reject(err)
      }
      return
    }
    try {
      await collection.insertMany(
        batch.map((p) => p.doc),
        { ordered: false },
      )
    } catch (err) {
      settleFailed(batch, err)
      return
    }
    for (const p of batch) p.resolve()
  }

  return (doc) =>
    new Promise<void>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush)
      queue.push({ doc, resolve, reject })
    })
}

/** Hands each document of a failed unordered insert its own error; the others succeeded. */
function settleFailed<T>(batch: Pending<T>[], err: unknown): void {
  const writeErrors = err instanceof MongoBulkWriteError ? [err.writeErrors].flat() : []
  if (writeErrors.length === 0 || (err as MongoBulkWriteError).result?.getWriteConcernError()) {
    // Not (only) per-document failures — network, write concern…: every caller gets the error.
    for (const p of batch) p.reject(err)
    return
  }
  const failed = new Map<number, MongoServerError>()
  for (const w of writeErrors) {
    // Like the error insertOne throws for one document, as far as a bulk write
    // error tells (message and code; the driver keeps no keyPattern here, so
    // isDuplicateKey reads the index name from the message) — not `op`, the
    // whole document, which would follow the error into logs.
    failed.set(w.index, new MongoServerError({ message: w.errmsg ?? 'write error', errmsg: w.errmsg, code: w.code }))
  }
  batch.forEach((p, i) => {
    const e = failed.get(i)
    if (e) p.reject(e)
    else p.resolve()
  })
}
