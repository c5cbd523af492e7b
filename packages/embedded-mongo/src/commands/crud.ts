// insert / update / delete / find / getMore / killCursors / findAndModify / count / distinct.

import { CommandError, Codes, badValue, toCommandError } from '../errors.ts'
import { type Doc, encodeValue, isPlainObject, pathValues, toNumber } from '../keys.ts'
import { findMatches, project } from '../query.ts'
import { applyUpdate, buildUpsert, updateKind } from '../updates.ts'
import { type Handler, collectionArg, objectArray, optArray, optNumber, optObject } from './context.ts'

function writeError(index: number, err: unknown): Doc {
  const e = toCommandError(err)
  return { index, code: e.code, codeName: e.codeName, errmsg: e.message, ...e.extra }
}

function withWriteErrors(reply: Doc, writeErrors: Doc[]): Doc {
  return writeErrors.length ? { ...reply, writeErrors } : reply
}

const insert: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, 'insert')
  const docs = objectArray(cmd, 'documents', 'insert')
  const ordered = cmd.ordered !== false
  const coll = ctx.engine.db(ctx.dbName).ensureCollection(name)
  let n = 0
  const writeErrors: Doc[] = []
  for (let i = 0; i < docs.length; i++) {
    try {
      coll.insert(docs[i] as Doc)
      n++
    } catch (err) {
      writeErrors.push(writeError(i, err))
      if (ordered) break
    }
  }
  return withWriteErrors({ n, ok: 1 }, writeErrors)
}

function arrayFiltersOf(spec: Doc): Doc[] | undefined {
  const af = spec.arrayFilters
  if (af === undefined || af === null) return undefined
  if (!Array.isArray(af) || !af.every(isPlainObject)) throw badValue('arrayFilters must be an array of objects')
  return af as Doc[]
}

const update: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, 'update')
  const updates = objectArray(cmd, 'updates', 'update')
  const ordered = cmd.ordered !== false
  const db = ctx.engine.db(ctx.dbName)
  let n = 0
  let nModified = 0
  const upserted: Doc[] = []
  const writeErrors: Doc[] = []
  for (let i = 0; i < updates.length; i++) {
    const spec = updates[i] as Doc
    try {
      const q = (spec.q ?? {}) as Doc
      if (!isPlainObject(q)) throw badValue('q must be an object')
      const u = spec.u
      const multi = spec.multi === true
      if (multi && updateKind(u) === 'replacement') throw new CommandError(Codes.FailedToParse, 'multi update is not supported for replacement-style update')
      const arrayFilters = arrayFiltersOf(spec)
      const coll = db.collection(name)
      const matches = findMatches(coll, q, { limit: multi ? 0 : 1, sort: spec.sort as Doc | undefined })
      if (matches.length === 0) {
        if (spec.upsert === true) {
          const doc = db.ensureCollection(name).insert(buildUpsert(q, u, arrayFilters))
          upserted.push({ index: i, _id: doc._id })
          n++
        }
        continue
      }
      for (const m of matches) {
        const res = applyUpdate(m.doc, u, { arrayFilters, filter: q, isInsert: false })
        n++
        if (res.modified && coll) {
          coll.replace(m.rid, res.doc)
          nModified++
        }
      }
    } catch (err) {
      writeErrors.push(writeError(i, err))
      if (ordered) break
    }
  }
  const reply: Doc = { n, nModified, ok: 1 }
  if (upserted.length) reply.upserted = upserted
  return withWriteErrors(reply, writeErrors)
}

const del: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, 'delete')
  const deletes = objectArray(cmd, 'deletes', 'delete')
  const ordered = cmd.ordered !== false
  const coll = ctx.engine.db(ctx.dbName).collection(name)
  let n = 0
  const writeErrors: Doc[] = []
  for (let i = 0; i < deletes.length; i++) {
    const spec = deletes[i] as Doc
    try {
      const q = (spec.q ?? {}) as Doc
      if (!isPlainObject(q)) throw badValue('q must be an object')
      const limit = toNumber(spec.limit) ?? 0
      if (limit !== 0 && limit !== 1) throw badValue(`The limit field in delete objects must be 0 or 1. Got ${limit}`)
      for (const m of findMatches(coll, q, { limit })) {
        coll?.remove(m.rid)
        n++
      }
    } catch (err) {
      writeErrors.push(writeError(i, err))
      if (ordered) break
    }
  }
  return withWriteErrors({ n, ok: 1 }, writeErrors)
}

const find: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, 'find')
  const filter = optObject(cmd, 'filter', 'find') ?? {}
  let limit = optNumber(cmd, 'limit', 'find') ?? 0
  let singleBatch = cmd.singleBatch === true
  if (limit < 0) {
    limit = -limit
    singleBatch = true
  }
  const skip = optNumber(cmd, 'skip', 'find') ?? 0
  if (skip < 0) throw badValue(`skip value must be non-negative, but received: ${skip}`)
  const batchSize = optNumber(cmd, 'batchSize', 'find')
  if (batchSize !== undefined && batchSize < 0) throw badValue(`batchSize value must be non-negative, but received: ${batchSize}`)
  const coll = ctx.engine.db(ctx.dbName).collection(name)
  const matches = findMatches(coll, filter, { sort: optObject(cmd, 'sort', 'find'), skip, limit })
  const docs = project(
    matches.map((m) => m.doc),
    optObject(cmd, 'projection', 'find'),
    filter,
  )
  return { ...ctx.cursors.open(`${ctx.dbName}.${name}`, docs, { batchSize, singleBatch }) }
}

const getMore: Handler = (cmd, ctx) => {
  const id = toNumber(cmd.getMore)
  if (id === undefined) throw new CommandError(Codes.TypeMismatch, "BSON field 'getMore.getMore' is the wrong type, expected type 'long'")
  const name = collectionArg(cmd, 'collection')
  const reply = ctx.cursors.getMore(id, `${ctx.dbName}.${name}`, optNumber(cmd, 'batchSize', 'getMore'))
  if (!reply) throw new CommandError(Codes.CursorNotFound, `cursor id ${id} not found`)
  return { ...reply }
}

const killCursors: Handler = (cmd, ctx) => {
  collectionArg(cmd, 'killCursors')
  const cursorsKilled: unknown[] = []
  const cursorsNotFound: unknown[] = []
  for (const raw of optArray(cmd, 'cursors', 'killCursors') ?? []) {
    const id = toNumber(raw)
    if (id !== undefined && ctx.cursors.kill(id)) cursorsKilled.push(raw)
    else cursorsNotFound.push(raw)
  }
  return { cursorsKilled, cursorsNotFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 }
}

const findAndModify: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, Object.keys(cmd)[0] as string)
  const query = optObject(cmd, 'query', 'findAndModify') ?? {}
  const sort = optObject(cmd, 'sort', 'findAndModify')
  const fields = optObject(cmd, 'fields', 'findAndModify')
  const remove = cmd.remove === true
  const returnNew = cmd.new === true
  const db = ctx.engine.db(ctx.dbName)
  const coll = db.collection(name)
  const [match] = findMatches(coll, query, { sort, limit: 1 })
  const out = (doc: Doc | null | undefined): Doc | null => (doc ? (project([doc], fields, query)[0] ?? null) : null)

  if (remove) {
    if (cmd.update !== undefined) throw badValue('Cannot specify both an update and remove=true')
    if (match && coll) coll.remove(match.rid)
    return { lastErrorObject: { n: match ? 1 : 0 }, value: out(match?.doc), ok: 1 }
  }
  if (cmd.update === undefined) throw badValue('Either an update or remove=true must be specified')
  const arrayFilters = arrayFiltersOf(cmd)
  if (match && coll) {
    const res = applyUpdate(match.doc, cmd.update, { arrayFilters, filter: query, isInsert: false })
    if (res.modified) coll.replace(match.rid, res.doc)
    return { lastErrorObject: { n: 1, updatedExisting: true }, value: out(returnNew ? res.doc : match.doc), ok: 1 }
  }
  if (cmd.upsert === true) {
    const doc = db.ensureCollection(name).insert(buildUpsert(query, cmd.update, arrayFilters))
    return { lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id }, value: returnNew ? out(doc) : null, ok: 1 }
  }
  return { lastErrorObject: { n: 0, updatedExisting: false }, value: null, ok: 1 }
}

const count: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, 'count')
  const query = optObject(cmd, 'query', 'count') ?? {}
  const coll = ctx.engine.db(ctx.dbName).collection(name)
  const limit = Math.abs(optNumber(cmd, 'limit', 'count') ?? 0)
  const skip = optNumber(cmd, 'skip', 'count') ?? 0
  if (!coll) return { n: 0, ok: 1 }
  const n = Object.keys(query).length === 0 ? Math.max(0, coll.docs.size - skip) : findMatches(coll, query, { skip }).length
  return { n: limit > 0 ? Math.min(n, limit) : n, ok: 1 }
}

const distinct: Handler = (cmd, ctx) => {
  const name = collectionArg(cmd, 'distinct')
  const key = cmd.key
  if (typeof key !== 'string' || !key) throw new CommandError(Codes.TypeMismatch, "BSON field 'distinct.key' is the wrong type, expected type 'string'")
  const query = optObject(cmd, 'query', 'distinct') ?? {}
  const coll = ctx.engine.db(ctx.dbName).collection(name)
  const seen = new Map<string, unknown>()
  const parts = key.split('.')
  for (const m of findMatches(coll, query)) {
    const { values } = pathValues(m.doc, parts)
    for (const v of values) {
      // pathValues reports missing as null; MongoDB's distinct skips documents without the field.
      if (v === null && !hasPath(m.doc, parts)) continue
      if (v === undefined) continue
      seen.set(encodeValue(v), v)
    }
  }
  const values = [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v)
  return { values, ok: 1 }
}

function hasPath(v: unknown, parts: string[], i = 0): boolean {
  if (i === parts.length) return true
  if (Array.isArray(v)) return v.some((el) => hasPath(el, parts, i))
  const key = parts[i] as string
  if (!isPlainObject(v) || !(key in v)) return false
  return hasPath(v[key], parts, i + 1)
}

export const crudCommands: Record<string, Handler> = {
  insert,
  update,
  delete: del,
  find,
  getMore,
  killCursors,
  findAndModify,
  findandmodify: findAndModify,
  count,
  distinct,
}
