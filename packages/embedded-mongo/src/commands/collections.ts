// create / drop / listCollections / createIndexes / listIndexes / dropIndexes.

import { Query } from 'mingo'
import { CommandError, Codes, badValue } from '../errors.ts'
import { type Doc, encodeValue, isPlainObject } from '../keys.ts'
import { type Handler, collectionArg, objectArray, optObject } from './context.ts'

// Fields of the create command that are transport/session noise, not collection options.
const NOT_OPTIONS = new Set(['create', '$db', 'lsid', '$clusterTime', 'txnNumber', 'writeConcern', 'readConcern', 'comment', '$readPreference', 'apiVersion'])

const create: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, 'create')
  const opts: Doc = {}
  for (const [k, v] of Object.entries(cmd)) if (!NOT_OPTIONS.has(k)) opts[k] = v
  if (opts.viewOn !== undefined) throw new CommandError(Codes.IllegalOperation, 'views are not supported by embedded-mongo')
  ctx.engine.db(ctx.dbName).createCollection(name, opts)
  return { ok: 1 }
}

const drop: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, 'drop')
  const db = ctx.engine.db(ctx.dbName)
  const nIndexesWas = db.collection(name)?.indexes.length
  db.dropCollection(name)
  // MongoDB 7+ reports success for a missing collection too.
  return nIndexesWas === undefined ? { ok: 1 } : { ns: `${ctx.dbName}.${name}`, nIndexesWas, ok: 1 }
}

const listCollections: Handler = (cmd, ctx) => {
  const filter = optObject(cmd, 'filter', 'listCollections')
  const db = ctx.engine.dbs.get(ctx.dbName)
  let entries: Doc[] = [...(db?.collections.values() ?? [])].map((c) => ({
    name: c.name,
    type: 'collection',
    options: c.options,
    info: { readOnly: false },
    idIndex: { v: 2, key: { _id: 1 }, name: '_id_' },
  }))
  if (filter) {
    const q = new Query(filter)
    entries = entries.filter((e) => q.test(e))
  }
  if (cmd.nameOnly === true) entries = entries.map((e) => ({ name: e.name, type: e.type }))
  const cursor = optObject(cmd, 'cursor', 'listCollections')
  return { ...ctx.cursors.open(`${ctx.dbName}.$cmd.listCollections`, entries, { batchSize: cursor?.batchSize as number | undefined }) }
}

const createIndexes: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, 'createIndexes')
  const specs = objectArray(cmd, 'indexes', 'createIndexes')
  if (specs.length === 0) throw badValue('Must specify at least one index to create')
  const db = ctx.engine.db(ctx.dbName)
  const existed = db.collection(name) !== undefined
  const coll = db.ensureCollection(name)
  const numIndexesBefore = coll.indexes.length
  let created = 0
  for (const spec of specs) {
    if (!isPlainObject(spec.key)) throw badValue("Error in specification: the 'key' field is a required property of an index specification")
    if (coll.createIndex(spec)) created++
  }
  const reply: Doc = { createdCollectionAutomatically: !existed, numIndexesBefore, numIndexesAfter: coll.indexes.length, ok: 1 }
  if (created === 0) reply.note = 'all indexes already exist'
  return reply
}

const listIndexes: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, 'listIndexes')
  const coll = ctx.engine.dbs.get(ctx.dbName)?.collection(name)
  if (!coll) throw new CommandError(Codes.NamespaceNotFound, `ns does not exist: ${ctx.dbName}.${name}`)
  const cursor = optObject(cmd, 'cursor', 'listIndexes')
  return { ...ctx.cursors.open(`${ctx.dbName}.$cmd.listIndexes.${name}`, coll.indexes.map((ix) => ix.spec), { batchSize: cursor?.batchSize as number | undefined }) }
}

const dropIndexes: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, Object.keys(cmd)[0] as string)
  const coll = ctx.engine.dbs.get(ctx.dbName)?.collection(name)
  if (!coll) throw new CommandError(Codes.NamespaceNotFound, `ns not found ${ctx.dbName}.${name}`)
  const nIndexesWas = coll.indexes.length
  const which = cmd.index
  if (which === '*') {
    for (const ix of coll.indexes.slice(1)) coll.dropIndex(ix.name)
  } else if (typeof which === 'string') {
    coll.dropIndex(which)
  } else if (Array.isArray(which)) {
    for (const n of which) coll.dropIndex(String(n))
  } else if (isPlainObject(which)) {
    const ix = coll.indexes.find((i) => encodeValue(i.spec.key) === encodeValue(which))
    if (!ix) throw new CommandError(Codes.IndexNotFound, `can't find index with key: ${JSON.stringify(which)}`)
    coll.dropIndex(ix.name)
  } else throw badValue('index must be a name, a key pattern, an array of names, or "*"')
  return { nIndexesWas, ok: 1 }
}

export const collectionCommands: Record<string, Handler> = {
  create,
  drop,
  listCollections,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
}
