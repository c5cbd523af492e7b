// Handshake, diagnostics and server-level commands.

import os from 'node:os'
import type { Handler } from './context.ts'
import { CommandError, Codes } from '../errors.ts'
import { Query } from 'mingo'
import { BSON } from 'bson'
import type { Doc } from '../keys.ts'
import { queryMetrics } from '../query.ts'

export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024
export const MAX_WIRE_VERSION = 25 // MongoDB 8.0
const VERSION = '8.0.0'

// Standalone (no setName): the driver then uses no replica-set features, so no
// retryable-write txnNumbers, no transactions, no change streams.
// topologyVersion is omitted on purpose so the driver polls instead of
// using exhaust-mode streaming hello.
const hello: Handler = (_cmd, ctx) => ({
  helloOk: true,
  ismaster: true,
  isWritablePrimary: true,
  maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
  maxMessageSizeBytes: 48_000_000,
  maxWriteBatchSize: 100_000,
  localTime: new Date(),
  logicalSessionTimeoutMinutes: 30,
  connectionId: ctx.connectionId,
  minWireVersion: 0,
  maxWireVersion: MAX_WIRE_VERSION,
  readOnly: false,
  ok: 1,
})

const buildInfo: Handler = () => ({
  version: VERSION,
  gitVersion: 'embedded-mongo',
  versionArray: [8, 0, 0, 0],
  modules: [],
  allocator: 'system',
  javascriptEngine: 'none',
  sysInfo: 'deprecated',
  bits: 64,
  debug: false,
  maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
  storageEngines: ['embedded'],
  ok: 1,
})

const ok: Handler = () => ({ ok: 1 })

const noTransactions: Handler = () => {
  throw new CommandError(Codes.IllegalOperation, 'Transaction numbers are only allowed on a replica set member or mongos')
}

const listDatabases: Handler = (cmd, ctx) => {
  let dbs: Doc[] = []
  for (const db of ctx.engine.dbs.values()) {
    if (db.collections.size === 0) continue
    let size = 0
    for (const c of db.collections.values()) size += c.docs.size * 256 // rough estimate; no real storage size
    dbs.push({ name: db.name, sizeOnDisk: size, empty: false })
  }
  if (cmd.filter && typeof cmd.filter === 'object') {
    const q = new Query(cmd.filter as Doc)
    dbs = dbs.filter((d) => q.test(d))
  }
  if (cmd.nameOnly) return { databases: dbs.map((d) => ({ name: d.name })), ok: 1 }
  const totalSize = dbs.reduce((s, d) => s + (d.sizeOnDisk as number), 0)
  return { databases: dbs, totalSize, totalSizeMb: Math.round(totalSize / 1e6), ok: 1 }
}

const dropDatabase: Handler = (_cmd, ctx) => {
  ctx.engine.dropDatabase(ctx.dbName)
  return { dropped: ctx.dbName, ok: 1 }
}

const dbStats: Handler = (_cmd, ctx) => {
  const db = ctx.engine.dbs.get(ctx.dbName)
  let objects = 0
  let indexes = 0
  for (const c of db?.collections.values() ?? []) {
    objects += c.docs.size
    indexes += c.indexes.length
  }
  return { db: ctx.dbName, collections: db?.collections.size ?? 0, views: 0, objects, indexes, dataSize: 0, storageSize: 0, ok: 1 }
}

const serverStatus: Handler = (_cmd, ctx) => ({
  host: os.hostname(),
  version: VERSION,
  process: 'embedded-mongo',
  pid: process.pid,
  uptime: Math.floor((Date.now() - ctx.startedAt) / 1000),
  uptimeMillis: Date.now() - ctx.startedAt,
  localTime: new Date(),
  connections: {},
  mem: { bits: 64, resident: Math.round(process.memoryUsage().rss / 1048576) },
  metrics: { queryExecutor: { scannedObjects: queryMetrics.scannedObjects } },
  ok: 1,
})

const getParameter: Handler = (cmd) => {
  const params: Doc = { featureCompatibilityVersion: { version: '8.0' }, authenticationMechanisms: [] }
  if (cmd.getParameter === '*') return { ...params, ok: 1 }
  const out: Doc = { ok: 1 }
  for (const k of Object.keys(cmd)) if (k in params) out[k] = params[k]
  return out
}

export const adminCommands: Record<string, Handler> = {
  hello,
  isMaster: hello,
  ismaster: hello,
  ping: ok,
  buildInfo,
  buildinfo: buildInfo,
  getParameter,
  getCmdLineOpts: () => ({ argv: process.argv, parsed: {}, ok: 1 }),
  hostInfo: () => ({ system: { hostname: os.hostname(), numCores: os.cpus().length }, os: { type: os.type() }, ok: 1 }),
  whatsmyuri: () => ({ you: '127.0.0.1:0', ok: 1 }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
  getLog: () => ({ totalLinesWritten: 0, log: [], ok: 1 }),
  endSessions: ok,
  killSessions: ok,
  killAllSessions: ok,
  refreshSessions: ok,
  startSession: () => ({ id: { id: new BSON.UUID() }, timeoutMinutes: 30, ok: 1 }),
  commitTransaction: noTransactions,
  abortTransaction: noTransactions,
  serverStatus,
  listDatabases,
  dropDatabase,
  dbStats,
  dbstats: dbStats,
}
