// Applying update specs (operators, replacement, pipeline) and building upsert
// documents. Operator semantics come from mingo's updater; what's here is the
// MongoDB-specific glue: $setOnInsert, _id immutability, and seeding an upsert
// from the equality clauses of the filter.

import { ObjectId } from 'bson'
import { Aggregator, ProcessingMode } from 'mingo'
import { update as mingoUpdate } from 'mingo/updater'
import { CommandError, Codes, badValue } from './errors.ts'
import { type Doc, cloneDoc, encodeValue, isPlainObject } from './keys.ts'

const UPDATE_OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$rename',
  '$push',
  '$addToSet',
  '$pop',
  '$pull',
  '$pullAll',
  '$bit',
  '$currentDate',
  '$setOnInsert',
])
const PIPELINE_STAGES = new Set(['$addFields', '$set', '$project', '$unset', '$replaceRoot', '$replaceWith'])

export type UpdateKind = 'operators' | 'replacement' | 'pipeline'

export function updateKind(u: unknown): UpdateKind {
  if (Array.isArray(u)) return 'pipeline'
  if (!isPlainObject(u)) throw new CommandError(Codes.FailedToParse, 'Update argument must be either an object or an array')
  const keys = Object.keys(u)
  if (keys.length > 0 && keys[0]?.startsWith('$')) {
    for (const k of keys) {
      if (!UPDATE_OPERATORS.has(k)) throw new CommandError(Codes.FailedToParse, `Unknown modifier: ${k}. Expected a valid update modifier or pipeline-style update specified as an array`)
      if (!isPlainObject(u[k])) throw new CommandError(Codes.FailedToParse, `Modifiers operate on fields but we found type ${typeof u[k]} instead. For example: {$mod: {<field>: ...}} not {${k}: ${String(u[k])}}`)
    }
    return 'operators'
  }
  for (const k of keys) if (k.startsWith('$')) throw new CommandError(Codes.DollarPrefixedFieldName, `The dollar ($) prefixed field '${k}' in '${k}' is not allowed in the context of an update's replacement document.`)
  return 'replacement'
}

/** Puts `_id` first, as MongoDB stores it. */
function idFirst(doc: Doc): Doc {
  if (Object.keys(doc)[0] === '_id' || doc._id === undefined) return doc
  const { _id, ...rest } = doc
  return { _id, ...rest }
}

function runPipeline(doc: Doc, stages: unknown[]): Doc {
  for (const s of stages) {
    const name = isPlainObject(s) ? Object.keys(s)[0] : undefined
    if (!name || !PIPELINE_STAGES.has(name)) throw badValue(`${String(name)} is not allowed to be used within an update`)
  }
  const [out] = new Aggregator(stages as Doc[], { processingMode: ProcessingMode.CLONE_INPUT }).run([doc]) as Doc[]
  if (!out) throw badValue('update pipeline produced no document')
  return out
}

export interface ApplyOptions {
  arrayFilters?: Doc[] | undefined
  filter: Doc
  isInsert: boolean
}

/** Returns the updated copy of `doc` (never mutates it) and whether anything changed. */
export function applyUpdate(doc: Doc, u: unknown, opts: ApplyOptions): { doc: Doc; modified: boolean } {
  const kind = updateKind(u)
  let next: Doc
  let modified: boolean
  if (kind === 'replacement') {
    next = idFirst({ ...cloneDoc(u as Doc), _id: (u as Doc)._id ?? doc._id })
    modified = encodeValue(next) !== encodeValue(doc)
  } else if (kind === 'pipeline') {
    next = idFirst(runPipeline(cloneDoc(doc), u as unknown[]))
    modified = encodeValue(next) !== encodeValue(doc)
  } else {
    const { $setOnInsert, ...ops } = u as Doc
    if (opts.isInsert && isPlainObject($setOnInsert)) ops.$set = { ...(isPlainObject(ops.$set) ? ops.$set : {}), ...$setOnInsert }
    next = cloneDoc(doc)
    let changed: string[] = []
    try {
      if (Object.keys(ops).length) changed = mingoUpdate(next, ops, opts.arrayFilters, opts.isInsert ? undefined : opts.filter)
    } catch (err) {
      if (/immutable field/.test((err as Error).message)) throw new CommandError(Codes.ImmutableField, (err as Error).message)
      throw err
    }
    modified = changed.length > 0
  }
  if (!opts.isInsert && encodeValue(next._id) !== encodeValue(doc._id)) {
    throw new CommandError(Codes.ImmutableField, "Performing an update on the path '_id' would modify the immutable field '_id'")
  }
  return { doc: idFirst(next), modified }
}

function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.')
  let cur = doc
  for (const p of parts.slice(0, -1)) {
    if (!isPlainObject(cur[p])) cur[p] = {}
    cur = cur[p] as Doc
  }
  cur[parts[parts.length - 1] as string] = cloneDoc(value)
}

/** Equality clauses of a filter (`{a: 1}`, `{a: {$eq: 1}}`, inside $and) as a seed document for upserts. */
function equalitySeed(filter: Doc, out: Doc = {}): Doc {
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$and' && Array.isArray(v)) {
      for (const sub of v) if (isPlainObject(sub)) equalitySeed(sub, out)
    } else if (!k.startsWith('$')) {
      if (isPlainObject(v) && Object.keys(v).some((x) => x.startsWith('$'))) {
        if ('$eq' in v) setPath(out, k, v.$eq)
      } else if (!(v instanceof RegExp)) setPath(out, k, v)
    }
  }
  return out
}

/** The document an upsert inserts when nothing matched. */
export function buildUpsert(filter: Doc, u: unknown, arrayFilters?: Doc[]): Doc {
  const kind = updateKind(u)
  const seed = equalitySeed(filter)
  let doc: Doc
  if (kind === 'replacement') {
    doc = cloneDoc(u as Doc)
    if (doc._id === undefined && seed._id !== undefined) doc._id = seed._id
  } else {
    doc = applyUpdate(seed, u, { arrayFilters, filter, isInsert: true }).doc
  }
  if (doc._id === undefined) doc = { _id: new ObjectId(), ...doc }
  return idFirst(doc)
}
