// aggregate: a leading $match/$sort/$skip/$limit prefix runs through the query
// planner (so it can use indexes, e.g. countDocuments on an indexed field); the
// remaining stages run in mingo's Aggregator.

import { Aggregator, ProcessingMode } from 'mingo'
import { CommandError, Codes, badValue } from '../errors.ts'
import { type Doc, isPlainObject, toNumber } from '../keys.ts'
import { findMatches } from '../query.ts'
import type { Database } from '../store.ts'
import { type Context, type Handler, objectArray, optObject } from './context.ts'

function stageName(stage: Doc): string {
  const keys = Object.keys(stage)
  if (keys.length !== 1) throw new CommandError(Codes.FailedToParse, 'A pipeline stage specification object must contain exactly one field.')
  return keys[0] as string
}

export function runPipeline(db: Database, collName: string | undefined, pipeline: Doc[]): Doc[] {
  const coll = collName ? db.collection(collName) : undefined
  let i = 0
  let filter: Doc = {}
  let sort: Doc | undefined
  let skip: number | undefined
  let limit: number | undefined
  const at = (name: string): unknown => {
    const s = pipeline[i]
    return s && stageName(s) === name ? s[name] : undefined
  }
  const m = at('$match')
  if (m !== undefined) {
    if (!isPlainObject(m)) throw badValue('the match filter must be an expression in an object')
    filter = m
    i++
  }
  const s = at('$sort')
  if (s !== undefined) {
    if (!isPlainObject(s)) throw badValue('the $sort key specification must be an object')
    sort = s
    i++
  }
  const sk = at('$skip')
  if (sk !== undefined) {
    skip = toNumber(sk)
    if (skip === undefined || skip < 0) throw badValue('invalid argument to $skip stage')
    i++
  }
  const l = at('$limit')
  if (l !== undefined) {
    limit = toNumber(l)
    if (limit === undefined || limit <= 0) throw badValue('the limit must be positive')
    i++
  }
  let rest = pipeline.slice(i)
  rest.forEach(stageName)

  let out: string | undefined
  const last = rest[rest.length - 1]
  if (last && stageName(last) === '$out') {
    const target = last.$out
    out = typeof target === 'string' ? target : isPlainObject(target) && typeof target.coll === 'string' ? target.coll : undefined
    if (!out) throw badValue('$out requires a collection name')
    rest = rest.slice(0, -1)
  }
  if (rest.some((st) => stageName(st) === '$merge')) throw new CommandError(Codes.IllegalOperation, '$merge is not supported by embedded-mongo')

  const docs = findMatches(coll, filter, { sort, skip, limit }).map((x) => x.doc)
  const result = rest.length
    ? (new Aggregator(rest, {
        // Stored documents are shared immutable values: mingo must not modify them in place.
        processingMode: ProcessingMode.CLONE_INPUT,
        collectionResolver: (name: string) => [...(db.collection(name)?.docs.values() ?? [])],
      }).run(docs) as Doc[])
    : docs
  if (out) {
    db.dropCollection(out)
    const target = db.ensureCollection(out)
    for (const d of result) target.insert(d)
    return []
  }
  return result
}

const aggregate: Handler = (cmd: Doc, ctx: Context) => {
  const target = cmd.aggregate
  if (typeof target !== 'string' && target !== 1) throw new CommandError(Codes.InvalidNamespace, "BSON field 'aggregate.aggregate' must be a collection name or 1")
  const pipeline = objectArray(cmd, 'pipeline', 'aggregate')
  if (cmd.explain === true) return { queryPlanner: { namespace: `${ctx.dbName}.${String(target)}`, winningPlan: { stage: 'EMBEDDED' } }, ok: 1 }
  const cursorOpts = optObject(cmd, 'cursor', 'aggregate')
  if (!cursorOpts) throw new CommandError(Codes.FailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument")
  const docs = runPipeline(ctx.engine.db(ctx.dbName), typeof target === 'string' ? target : undefined, pipeline)
  const batchSize = toNumber(cursorOpts.batchSize)
  return { ...ctx.cursors.open(`${ctx.dbName}.${typeof target === 'string' ? target : '$cmd.aggregate'}`, docs, { batchSize }) }
}

export const aggregateCommands: Record<string, Handler> = { aggregate }
