// Query execution: pick an index to generate candidates, then let mingo decide.
//
// The planner is deliberately simple and conservative. It only narrows the set
// of candidate documents; every candidate is still tested against the filter
// (a top-level `$or`'s branch plans test theirs against their own branch and
// the fields beside the `$or`: together they hold every match), so a plan can
// never change results, only speed. An index
// is usable when its leading fields are bound by equality (or small $in) and,
// optionally, the next field by a range and/or the requested sort — which is
// exactly the "history page" shape: {roomId: X, seq: {$lt: N}} sort {seq: -1}.

import { Query } from 'mingo'
import { Context } from 'mingo/core'
import * as queryOperators from 'mingo/operators/query'
import { Query as BareQuery } from 'mingo/query'
import { badValue } from './errors.ts'
import { withFastEquality, type Filter } from './fast-equality.ts'

export type { Filter }
import { type Doc, HIGH, encodeValue, isPlainObject, pathValues } from './keys.ts'
import type { Collection, Index } from './store.ts'

export type SortSpec = [path: string, dir: 1 | -1][]

export interface FindOptions {
  sort?: Doc | undefined
  skip?: number | undefined
  limit?: number | undefined
}

export interface Match {
  rid: number
  doc: Doc
}

interface FieldPredicate {
  eq?: unknown[] // candidate equality values ($eq or $in)
  lo?: { key: string; inclusive: boolean }
  hi?: { key: string; inclusive: boolean }
}

const RANGE_OPS = new Set(['$gt', '$gte', '$lt', '$lte'])

/** Values whose index encoding matches MongoDB equality semantics exactly enough to plan on. */
function plannableScalar(v: unknown): boolean {
  if (v === null || v === undefined || Array.isArray(v) || v instanceof RegExp) return false
  if (isPlainObject(v)) return !Object.keys(v).some((k) => k.startsWith('$'))
  const t = (v as { _bsontype?: string })?._bsontype
  return t !== 'BSONRegExp' && t !== 'MinKey' && t !== 'MaxKey'
}

/** Collects per-field predicates from the top level of a filter (and nested $and). */
function collectPredicates(filter: Doc, out: Map<string, FieldPredicate>): void {
  for (const [field, cond] of Object.entries(filter)) {
    if (field === '$and' && Array.isArray(cond)) {
      for (const sub of cond) if (isPlainObject(sub)) collectPredicates(sub, out)
      continue
    }
    if (field.startsWith('$')) continue
    const p = out.get(field) ?? {}
    if (isPlainObject(cond) && Object.keys(cond).some((k) => k.startsWith('$'))) {
      for (const [op, v] of Object.entries(cond)) {
        if (op === '$eq' && plannableScalar(v)) p.eq = [v]
        else if (op === '$in' && Array.isArray(v) && v.length > 0 && v.length <= 200 && v.every(plannableScalar)) p.eq ??= v
        else if (RANGE_OPS.has(op) && plannableScalar(v) && !isPlainObject(v)) {
          const key = encodeValue(v)
          if (op === '$gt' || op === '$gte') p.lo = { key, inclusive: op === '$gte' }
          else p.hi = { key, inclusive: op === '$lte' }
        }
      }
    } else if (plannableScalar(cond)) p.eq = [cond]
    out.set(field, p)
  }
}

export function parseSort(sort: unknown): SortSpec {
  if (sort === undefined || sort === null) return []
  if (!isPlainObject(sort)) throw badValue('sort must be an object')
  return Object.entries(sort).map(([k, v]) => {
    if (isPlainObject(v)) return [k, 1] // {$meta: ...} — no text score support; keep stable
    const n = Number(v)
    if (n !== 1 && n !== -1) throw badValue(`$sort key ordering must be 1 (for ascending) or -1 (for descending)`)
    return [k, n as 1 | -1]
  })
}

interface Plan {
  index: Index
  ranges: [lo: string, hi: string][]
  reverse: boolean
  providesSort: boolean
  score: number
}

function planFor(index: Index, preds: Map<string, FieldPredicate>, sort: SortSpec): Plan | undefined {
  let prefixes = ['']
  let eqCount = 0
  for (const f of index.fields) {
    const eq = preds.get(f.path)?.eq
    if (!eq) break
    const encs = eq.map(encodeValue)
    if (prefixes.length * encs.length > 1000) break
    prefixes = prefixes.flatMap((p) => encs.map((e) => p + e))
    eqCount++
  }
  const next = index.fields[eqCount]
  const range = next ? preds.get(next.path) : undefined
  const hasRange = !!(range && !range.eq && (range.lo || range.hi))

  // Sort: drop sort fields fixed by equality, the rest must follow the index from field `eqCount` on.
  const eqPaths = new Set(index.fields.slice(0, eqCount).map((f) => f.path))
  const rest = sort.filter(([p]) => !eqPaths.has(p))
  let providesSort = sort.length === 0 || (prefixes.length === 1 && rest.length === 0)
  let reverse = false
  if (sort.length > 0 && rest.length > 0 && prefixes.length === 1 && !index.multikey) {
    // The tree keeps every field ascending whatever the index's declared direction,
    // so a sort is served by walking it forwards (all ascending) or backwards (all descending).
    const dirs = rest.map(([p, d], i) => {
      const f = index.fields[eqCount + i]
      return f && f.path === p ? d : 0
    })
    if (dirs.every((d) => d === dirs[0]) && dirs[0] !== 0) {
      providesSort = true
      reverse = dirs[0] === -1
    }
  }
  if (index.multikey && sort.length > 0 && rest.length > 0) providesSort = false

  if (eqCount === 0 && !hasRange && !(providesSort && sort.length > 0)) return undefined

  const ranges = prefixes.map((prefix): [string, string] => {
    if (!hasRange || !range) return [prefix, prefix + HIGH]
    const anyBound = (range.lo ?? range.hi) as { key: string }
    // Comparison operators are type-bracketed: {$gt: 5} only matches numbers.
    const tag = anyBound.key[0] as string
    const [bLo, bHi] = [tag, tag + HIGH]
    let lo = prefix + bLo
    let hi = prefix + bHi
    if (range.lo) lo = prefix + range.lo.key + (range.lo.inclusive ? '' : HIGH)
    // A multikey index may match one bound with one element and the other bound with another.
    if (range.hi && !(index.multikey && range.lo)) hi = prefix + range.hi.key + (range.hi.inclusive ? HIGH : '')
    return [lo, hi]
  })
  const score = eqCount * 4 + (hasRange ? 2 : 0) + (providesSort && sort.length > 0 ? 1 : 0) + (index.unique && eqCount === index.fields.length ? 8 : 0)
  return { index, ranges, reverse, providesSort, score }
}

function bestPlan(coll: Collection, preds: Map<string, FieldPredicate>, sort: SortSpec): Plan | undefined {
  let best: Plan | undefined
  for (const ix of coll.indexes) {
    if (!ix.complete) continue
    const p = planFor(ix, preds, sort)
    if (p && (!best || p.score > best.score)) best = p
  }
  return best
}

const MAX_OR_BRANCHES = 200

/** Where a query's candidates come from: index plans (none: the whole collection). */
interface Plans {
  plans: Plan[] | undefined
  /** Set when each plan reads one branch of a top-level `$or`: `branches[i]` is plan i's. */
  branches?: Doc[]
}

/**
 * The plans whose candidates, together, hold every match. One plan for the
 * filter's top-level fields; or, for a top-level `$or` whose every branch
 * (with the fields beside it — all must hold) can use an index, one plan per
 * branch, as MongoDB's OR stage does: `{ $or: [{ roomId: A, seq: { $gt: 5 } },
 * { roomId: B, seq: { $gt: 9 } }] }` reads two index ranges, not the collection.
 */
function choosePlans(coll: Collection, filter: Doc, sort: SortSpec): Plans {
  const preds = new Map<string, FieldPredicate>()
  collectPredicates(filter, preds)
  const top = bestPlan(coll, preds, sort)
  const single = { plans: top && [top] }
  const branches = filter.$or
  if (!Array.isArray(branches) || branches.length === 0 || branches.length > MAX_OR_BRANCHES || !branches.every(isPlainObject)) return single
  const plans: Plan[] = []
  for (const branch of branches as Doc[]) {
    const both = new Map<string, FieldPredicate>()
    collectPredicates(filter, both)
    collectPredicates(branch, both)
    const p = bestPlan(coll, both, sort)
    // A branch no index narrows better than the top level's: one scan for all.
    if (!p || (top && p.score <= top.score)) return single
    plans.push(p)
  }
  return { plans, branches: branches as Doc[] }
}

/** Documents read to answer queries (MongoDB's serverStatus metrics.queryExecutor.scannedObjects). */
export const queryMetrics = { scannedObjects: 0 }

/** A candidate document, and the plan that read it. */
interface Candidate extends Match {
  plan: number
}

/**
 * Candidate documents in plan order, each once per plan (several ranges of a
 * plan, or a multikey index, can read a document twice); once in all unless
 * `perPlan`, where the caller deduplicates what it keeps.
 */
function* scan(coll: Collection, plans: Plan[] | undefined, perPlan = false): Generator<Candidate> {
  if (!plans) {
    for (const [rid, doc] of coll.docs) {
      queryMetrics.scannedObjects++
      yield { rid, doc, plan: 0 }
    }
    return
  }
  const dedupe = plans.length > 1 || plans[0]!.index.multikey || plans[0]!.ranges.length > 1
  let seen = dedupe ? new Set<number>() : undefined
  for (const [i, plan] of plans.entries()) {
    if (perPlan && dedupe) seen = new Set()
    const ranges = plan.reverse ? [...plan.ranges].reverse() : plan.ranges
    for (const [lo, hi] of ranges) {
      for (const e of plan.index.tree.range(lo, hi, plan.reverse)) {
        if (seen) {
          if (seen.has(e.r)) continue
          seen.add(e.r)
        }
        const doc = coll.docs.get(e.r)
        if (!doc) continue
        queryMetrics.scannedObjects++
        yield { rid: e.r, doc, plan: i }
      }
    }
  }
}

/**
 * The matches among the candidates. A candidate read by an `$or` branch's plan
 * is tested against that branch (and the fields beside the `$or`) only, as
 * MongoDB's OR stage does: a document matching another branch is among that
 * branch's candidates too. Testing each against the whole `$or` cost a
 * hundred-branch count (packages/db's unread counts) a hundred tests a
 * document, most of this server's time in a reconnecting crowd.
 */
function* matching(coll: Collection, filter: Doc, query: Filter, { plans, branches }: Plans): Generator<Match> {
  if (!branches) {
    for (const m of scan(coll, plans)) if (query.test(m.doc)) yield m
    return
  }
  const beside: Doc = { ...filter }
  delete beside.$or
  const tests: (Filter | undefined)[] = []
  const kept = new Set<number>()
  for (const m of scan(coll, plans, true)) {
    if (kept.has(m.rid)) continue
    const test = (tests[m.plan] ??= compileFilter(branchFilter(beside, branches[m.plan]!)))
    if (!test.test(m.doc)) continue
    kept.add(m.rid)
    yield { rid: m.rid, doc: m.doc }
  }
}

/** One `$or` branch with the fields beside the `$or`; `$and` where they share a field. */
function branchFilter(beside: Doc, branch: Doc): Doc {
  return Object.keys(branch).some((k) => k in beside) ? { $and: [beside, branch] } : { ...beside, ...branch }
}

/** Sort key of a document for one field: min element ascending, max element descending (MongoDB array sort). */
function sortKey(doc: Doc, path: string[], dir: 1 | -1): string {
  const encs = pathValues(doc, path).values.map(encodeValue)
  let best = encs[0] as string
  for (const e of encs) if (dir === 1 ? e < best : e > best) best = e
  return best
}

export function sortMatches(matches: Match[], sort: SortSpec): Match[] {
  if (sort.length === 0) return matches
  const paths = sort.map(([p, d]) => [p.split('.'), d] as const)
  const keyed = matches.map((m) => ({ m, keys: paths.map(([parts, d]) => sortKey(m.doc, parts, d)) }))
  keyed.sort((a, b) => {
    for (let i = 0; i < paths.length; i++) {
      const ka = a.keys[i] as string
      const kb = b.keys[i] as string
      if (ka !== kb) return (ka < kb ? -1 : 1) * (paths[i] as readonly [string[], number])[1]
    }
    return 0
  })
  return keyed.map((k) => k.m)
}

// mingo's Query copies its operator context — every query, expression,
// pipeline, accumulator… operator, a few hundred entries — on each
// construction, which made it the largest cost of a find by index. A filter
// that evaluates no aggregation expression needs only the query operators.
const QUERY_OPERATORS_ONLY = Context.init({ query: queryOperators })

/** True when the filter uses an operator that evaluates aggregation expressions ($expr) or code ($where). */
function usesExpressions(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(usesExpressions)
  if (!isPlainObject(v)) return false
  for (const k in v) {
    if (k === '$expr' || k === '$where') return true
    if (usesExpressions(v[k])) return true
  }
  return false
}


export function compileFilter(filter: unknown): Filter {
  if (filter === undefined || filter === null) return new BareQuery({}, { context: QUERY_OPERATORS_ONLY })
  if (!isPlainObject(filter)) throw badValue('filter must be an object')
  return withFastEquality(filter, (f) => (usesExpressions(f) ? new Query(f) : new BareQuery(f, { context: QUERY_OPERATORS_ONLY })))
}

/** Runs a filter with optional sort/skip/limit; limit 0 means no limit. */
export function findMatches(coll: Collection | undefined, filter: Doc, opts: FindOptions = {}): Match[] {
  // Validate the filter and sort even when the collection doesn't exist, as MongoDB does.
  const query = compileFilter(filter)
  const sort = parseSort(opts.sort)
  if (!coll) return []
  const skip = opts.skip ?? 0
  const limit = opts.limit ?? 0
  if (skip < 0) throw badValue('skip value must be non-negative')
  const plans = choosePlans(coll, filter, sort)
  const out: Match[] = []
  // Several plans' candidates come in no overall order.
  if (sort.length === 0 || (plans.plans?.length === 1 && plans.plans[0]!.providesSort)) {
    // Streaming: stop as soon as skip + limit documents matched.
    let skipped = 0
    for (const m of matching(coll, filter, query, plans)) {
      if (skipped < skip) {
        skipped++
        continue
      }
      out.push(m)
      if (limit > 0 && out.length >= limit) break
    }
    return out
  }
  for (const m of matching(coll, filter, query, plans)) out.push(m)
  const sorted = sortMatches(out, sort)
  return sorted.slice(skip, limit > 0 ? skip + limit : undefined)
}

/** Applies a find-style projection (including positional `$`, $slice, $elemMatch) via mingo. */
export function project(docs: Doc[], projection: unknown, filter: Doc = {}): Doc[] {
  if (projection === undefined || projection === null) return docs
  if (!isPlainObject(projection)) throw badValue('projection must be an object')
  if (Object.keys(projection).length === 0) return docs
  const simple = simpleProjection(projection)
  if (!simple) return new Query(filter).find<Doc>(docs, projection).all()
  let general: Query | undefined
  return docs.map((doc) => simple(doc) ?? (general ??= new Query(filter)).find<Doc>([doc], projection).all()[0]!)
}

/** Fields to include: `true` for the whole value, a subtree for a dotted path's fields. */
type Inclusion = Map<string, true | Inclusion>

/**
 * The common projections without going through mingo's aggregation pipeline:
 * top-level fields, all included or all excluded (`{seq: 1}`, `{data: 0}`),
 * `_id` on or off, and included dotted paths (`{'data.type': 1}`: packages/db's
 * unread counts read thousands of events with it). As MongoDB returns them:
 * `_id` first, then the fields in the document's order. Anything else
 * (operators, excluded dotted paths, mixed inclusion and exclusion, only
 * `_id`, a path and its parent) returns undefined and goes to mingo, and so
 * does a document whose dotted path meets an array or a scalar (the function
 * returns undefined for it).
 */
function simpleProjection(projection: Doc): ((doc: Doc) => Doc | undefined) | undefined {
  let include: boolean | undefined
  let keepId = true
  const fields: Inclusion = new Map()
  for (const k of Object.keys(projection)) {
    const v = projection[k]
    const on = v === 1 || v === true ? true : v === 0 || v === false ? false : undefined
    if (on === undefined || k.startsWith('$')) return undefined
    if (k === '_id') {
      keepId = on
      continue
    }
    if (include !== undefined && include !== on) return undefined
    include = on
    const path = k.split('.')
    if (path.length > 1 && (!on || path[0] === '_id')) return undefined
    if (!addPath(fields, path)) return undefined
  }
  if (include === undefined) return undefined
  if (include) {
    return (doc) => {
      const out: Doc = {}
      if (keepId && doc._id !== undefined) out._id = doc._id
      return pick(doc, fields, out) ? out : undefined
    }
  }
  return (doc) => {
    const out: Doc = {}
    for (const k of Object.keys(doc)) if (!fields.has(k) && (keepId || k !== '_id') && doc[k] !== undefined) out[k] = doc[k]
    return out
  }
}

/** Adds a path to the tree; false when it overlaps one already there (MongoDB's path collision). */
function addPath(tree: Inclusion, [head, ...rest]: string[]): boolean {
  const node = tree.get(head!)
  if (rest.length === 0) {
    if (node !== undefined) return false
    tree.set(head!, true)
    return true
  }
  if (node === true) return false
  const sub: Inclusion = node ?? new Map()
  tree.set(head!, sub)
  return addPath(sub, rest)
}

/** Copies the included fields of `doc` into `out`, in the document's order; false when a path meets an array or a scalar. */
function pick(doc: Doc, fields: Inclusion, out: Doc): boolean {
  for (const k of Object.keys(doc)) {
    const want = fields.get(k)
    const v = doc[k]
    if (want === undefined || v === undefined) continue
    if (want === true) out[k] = v
    else if (isPlainObject(v)) {
      const sub: Doc = {}
      if (!pick(v, want, sub)) return false
      out[k] = sub
    } else return false
  }
  return true
}
