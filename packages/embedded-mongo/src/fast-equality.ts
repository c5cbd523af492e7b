// Equality on ids, decided without mingo.
//
// mingo compares an ObjectId by walking both objects (a few µs a test, times
// the length of an `$in` list): one `{userId: {$in: [200 ids]}}` over a few
// hundred candidates took ~100 ms of this single-threaded server — and that is
// the shape of every batched point lookup (packages/db/src/batch.ts). Top-level
// `field: <id>` and `field: {$in: [ids]}` clauses on strings and ObjectIds are
// decided here instead, by each value's index encoding (the one the planner
// already trusts to generate candidates); everything else still goes to mingo.
// A document whose path crosses an array (multikey semantics) is left to mingo
// whole.

import { CROSSES_ARRAY, encodeValue, isPlainObject, scalarPath, type Doc } from './keys.ts'

/** A compiled filter; `test(doc)` says whether a document matches. */
export interface Filter {
  test(doc: Doc): boolean
}

interface EqualityCheck {
  path: string[]
  keys: Set<string>
}

function isId(v: unknown): boolean {
  return typeof v === 'string' || (typeof v === 'object' && v !== null && (v as { _bsontype?: string })._bsontype === 'ObjectId')
}

/** The values a clause accepts when it is `<id>` or `{ $in: [<id>, …] }`, else null. */
function idValues(cond: unknown): unknown[] | null {
  if (isId(cond)) return [cond]
  if (!isPlainObject(cond)) return null
  const keys = Object.keys(cond)
  if (keys.length !== 1 || keys[0] !== '$in') return null
  const list = cond.$in
  return Array.isArray(list) && list.length > 0 && list.every(isId) ? list : null
}

/**
 * `compile(filter)` with the id-equality clauses of `filter` checked natively.
 * `compile` builds the mingo matcher for whatever is left (and for the whole
 * filter, used on documents with arrays along a checked path).
 */
export function withFastEquality(filter: Doc, compile: (f: Doc) => Filter): Filter {
  const checks: EqualityCheck[] = []
  const rest: Doc = {}
  for (const [field, cond] of Object.entries(filter)) {
    const values = field.startsWith('$') ? null : idValues(cond)
    if (values) checks.push({ path: field.split('.'), keys: new Set(values.map(encodeValue)) })
    else rest[field] = cond
  }
  if (checks.length === 0) return compile(filter)
  const restFilter = Object.keys(rest).length > 0 ? compile(rest) : null
  let whole: Filter | null = null
  return {
    test(doc) {
      for (const c of checks) {
        const v = scalarPath(doc, c.path)
        if (v === CROSSES_ARRAY) return (whole ??= compile(filter)).test(doc)
        if (!isId(v) || !c.keys.has(encodeValue(v))) return false
      }
      return restFilter ? restFilter.test(doc) : true
    },
  }
}
