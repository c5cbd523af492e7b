// @parley/embedded-mongo — a MongoDB wire-protocol server written in Node.
//
// It exists because no MongoDB server can be installed on the development
// machines: the unmodified official `mongodb` driver connects to it with a
// normal `mongodb://127.0.0.1:PORT` URL, for local development and tests.
// Production runs against real MongoDB. Query/update/aggregation semantics come
// from mingo; indexes, unique constraints, cursors, the wire protocol and the
// journal are implemented here. See docs/embedded-mongo.md for what is covered.

import { CursorRegistry } from './cursors.ts'
import { Persistence } from './persistence.ts'
import { WireServer } from './server.ts'
import { Engine } from './store.ts'

export interface EmbeddedMongoOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number
  /** Interface to bind; default 127.0.0.1. */
  host?: string
  /** Directory for the journal and snapshots; omitted = memory only. */
  dataDir?: string
  /** If given, appended to the returned URL (`mongodb://host:port/dbName`). */
  dbName?: string
  /** fsync every write (power-loss safety); default false — a process crash never loses acknowledged writes either way. */
  fsync?: boolean
  /** Journal size that triggers compaction into a snapshot; default 64 MiB. */
  compactBytes?: number
  /** Diagnostics sink (replay warnings, connection failures); default console.warn. */
  log?: (msg: string) => void
}

export interface EmbeddedMongo {
  /** `mongodb://host:port` (plus `/dbName` when requested). */
  url: string
  port: number
  host: string
  /** Closes all connections, flushes and compacts the journal, releases the data directory. */
  stop(): Promise<void>
}

export async function startEmbeddedMongo(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const host = options.host ?? '127.0.0.1'
  const log = options.log ?? ((msg: string) => console.warn(msg))
  const engine = new Engine()
  let persistence: Persistence | undefined
  if (options.dataDir) {
    persistence = new Persistence(options.dataDir, engine, { fsync: options.fsync, compactBytes: options.compactBytes, log })
    persistence.open()
  }
  const cursors = new CursorRegistry()
  const server = new WireServer(engine, cursors, { journal: persistence, log })
  let port: number
  try {
    port = await server.listen(options.port ?? 0, host)
  } catch (err) {
    persistence?.close()
    cursors.close()
    throw err
  }
  const urlHost = host.includes(':') ? `[${host}]` : host
  let stopped: Promise<void> | undefined
  return {
    url: `mongodb://${urlHost}:${port}${options.dbName ? `/${options.dbName}` : ''}`,
    port,
    host,
    stop: () =>
      (stopped ??= (async () => {
        await server.close()
        cursors.close()
        persistence?.close()
      })()),
  }
}
