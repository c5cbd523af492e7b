// Canonical, order-preserving string encoding of BSON values.
//
// Every value is encoded so that plain JS string comparison (`<`) orders the
// encodings exactly like MongoDB orders the values (BSON type order first,
// then value). Encodings are prefix-free ("self-delimiting"), so the
// concatenation of several encodings orders like the tuple of values — that is
// what makes compound index keys a single comparable string.
//
// Known approximations: int64/Decimal128 are compared through a double, and
// strings by UTF-16 code unit rather than UTF-8 byte (only differs for
// characters above U+E000 vs. surrogate pairs).

export type Doc = Record<string, unknown>

// Type tags in MongoDB's BSON comparison order.
const T = {
  minKey: 'A',
  nullish: 'B', // null and missing sort together; 'B0' = null, 'B1' = undefined / empty array in an index
  number: 'C',
  string: 'D',
  object: 'E',
  array: 'F',
  binary: 'G',
  objectId: 'H',
  boolean: 'I',
  date: 'J',
  timestamp: 'K',
  regex: 'L',
  code: 'M',
  maxKey: 'Z',
} as const

/** Sentinel greater than any continuation of a key: `prefix + HIGH` bounds "everything starting with prefix". */
export const HIGH = '\uffff'

const f64 = new DataView(new ArrayBuffer(8))

/** Encodes a double so that hex-string order equals numeric order (NaN sorts first, like MongoDB). */
function encodeDouble(n: number): string {
  if (Number.isNaN(n)) return '0000000000000000'
  f64.setFloat64(0, n === 0 ? 0 : n) // normalise -0
  let hi = f64.getUint32(0)
  let lo = f64.getUint32(4)
  if (hi & 0x80000000) {
    hi = ~hi >>> 0
    lo = ~lo >>> 0
  } else {
    hi = (hi | 0x80000000) >>> 0
  }
  // Shift by one so NaN's all-zero encoding stays strictly below -Infinity.
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')
}

function escapeStr(s: string): string {
  // \u0000 terminates; escape the two lowest code units so order is preserved.
  if (!s.includes('\u0000') && !s.includes('\u0001')) return s
  return s.split('\u0001').join('\u0001\u0002').split('\u0000').join('\u0001\u0001')
}

function bsonType(v: object): string | undefined {
  return (v as { _bsontype?: string })._bsontype
}

export function isPlainObject(v: unknown): v is Doc {
  if (v === null || typeof v !== 'object') return false
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

/** Numeric value of any BSON number wrapper, or undefined when `v` is not a number. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  if (v && typeof v === 'object') {
    const t = bsonType(v)
    if (t === 'Long') return (v as { toNumber(): number }).toNumber()
    if (t === 'Int32' || t === 'Double') return (v as { value: number }).value
    if (t === 'Decimal128') return Number(v.toString())
  }
  return undefined
}

export function encodeValue(v: unknown): string {
  if (v === null) return T.nullish + '0'
  if (v === undefined) return T.nullish + '1'
  switch (typeof v) {
    case 'number':
      return T.number + encodeDouble(v)
    case 'bigint':
      return T.number + encodeDouble(Number(v))
    case 'string':
      return T.string + escapeStr(v) + '\u0000'
    case 'boolean':
      return T.boolean + (v ? '1' : '0')
    case 'object':
      break
    default:
      return T.code + escapeStr(String(v)) + '\u0000'
  }
  if (Array.isArray(v)) {
    let out: string = T.array
    for (const el of v) out += encodeValue(el)
    return out + '\u0000'
  }
  if (v instanceof Date) return T.date + encodeDouble(v.getTime())
  if (v instanceof RegExp) return T.regex + escapeStr(v.source) + '\u0000' + v.flags + '\u0000'
  const t = bsonType(v)
  switch (t) {
    case undefined:
      break
    case 'ObjectId':
      return T.objectId + (v as { toHexString(): string }).toHexString()
    case 'Long':
    case 'Int32':
    case 'Double':
    case 'Decimal128':
      return T.number + encodeDouble(toNumber(v) ?? NaN)
    case 'Binary': {
      const b = v as { buffer: Uint8Array; position?: number; sub_type: number }
      const bytes = b.buffer.subarray(0, b.position ?? b.buffer.length)
      return T.binary + bytes.length.toString(16).padStart(8, '0') + b.sub_type.toString(16).padStart(2, '0') + Buffer.from(bytes).toString('hex')
    }
    case 'Timestamp': {
      const ts = v as { high: number; low: number }
      return T.timestamp + (ts.high >>> 0).toString(16).padStart(8, '0') + (ts.low >>> 0).toString(16).padStart(8, '0')
    }
    case 'BSONRegExp': {
      const r = v as { pattern: string; options: string }
      return T.regex + escapeStr(r.pattern) + '\u0000' + r.options + '\u0000'
    }
    case 'MinKey':
      return T.minKey
    case 'MaxKey':
      return T.maxKey
    case 'BSONSymbol':
      return T.string + escapeStr(v.toString()) + '\u0000'
    case 'Code':
      return T.code + escapeStr(String((v as { code: unknown }).code)) + '\u0000'
    default:
      break // DBRef and unknown wrappers are compared as objects
  }
  // Objects: per field, type then name then value (MongoDB's object comparison).
  let out: string = T.object
  for (const [k, val] of Object.entries(v as Doc)) {
    if (val === undefined && t === undefined) continue
    const enc = encodeValue(val)
    out += enc[0] + escapeStr(k) + '\u0000' + enc
  }
  return out + '\u0000'
}

/**
 * Values reached by a dotted path, expanding arrays the way a multikey index does:
 * `a.b` on `{a: [{b: 1}, {b: 2}]}` yields [1, 2]; a missing field yields [null].
 * A terminal array yields its elements (an empty array yields `undefined`).
 * `isArray` reports whether any array was traversed (the index becomes multikey).
 */
export function pathValues(doc: unknown, path: string[]): { values: unknown[]; isArray: boolean } {
  const acc: PathAcc = { values: [], isArray: false }
  walkPath(doc, path, 0, acc)
  return acc
}

interface PathAcc {
  values: unknown[]
  isArray: boolean
}

// Module-level rather than a closure per call: this runs for every index key of every write.
function walkPath(value: unknown, path: string[], i: number, acc: PathAcc): void {
  const out = acc.values
  if (i === path.length) {
    if (Array.isArray(value)) {
      acc.isArray = true
      if (value.length === 0) out.push(undefined)
      else for (const el of value) out.push(el)
    } else out.push(value === undefined ? null : value)
    return
  }
  if (Array.isArray(value)) {
    acc.isArray = true
    const key = path[i] as string
    if (/^\d+$/.test(key) && Number(key) < value.length) {
      walkPath(value[Number(key)], path, i + 1, acc)
      return
    }
    const before = out.length
    for (const el of value) if (isPlainObject(el)) walkPath(el, path, i, acc)
    if (out.length === before) out.push(null)
    return
  }
  if (isPlainObject(value)) {
    const next = value[path[i] as string]
    if (next === undefined) out.push(null)
    else walkPath(next, path, i + 1, acc)
    return
  }
  out.push(null)
}

/** Returned by `scalarPath` when the path crosses an array: use `pathValues`. */
export const CROSSES_ARRAY: unique symbol = Symbol('crosses array')

/**
 * The single value at a dotted path (null when missing), as `pathValues` would
 * report it, or CROSSES_ARRAY when an array is on the way (several values,
 * multikey). The cheap common case of index maintenance: no allocation.
 */
export function scalarPath(doc: unknown, path: string[]): unknown {
  let cur = doc
  for (let i = 0; i < path.length; i++) {
    if (Array.isArray(cur)) return CROSSES_ARRAY
    if (!isPlainObject(cur)) return null
    cur = cur[path[i] as string]
    if (cur === undefined) return null
  }
  return Array.isArray(cur) ? CROSSES_ARRAY : cur
}

/** Whether the path exists at all in the document (used for sparse indexes). */
export function pathExists(doc: unknown, path: string[]): boolean {
  let cur: unknown = doc
  for (const p of path) {
    if (Array.isArray(cur)) return true // conservatively treat array traversal as present
    if (!isPlainObject(cur) || !(p in cur) || cur[p] === undefined) return false
    cur = cur[p]
  }
  return true
}

/** Deep copy of plain objects/arrays; BSON wrappers (ObjectId, Binary, …) are immutable and shared. */
export function cloneDoc<V>(v: V): V {
  if (Array.isArray(v)) return v.map(cloneDoc) as V
  if (v instanceof Date) return new Date(v.getTime()) as V
  if (isPlainObject(v)) {
    const out: Doc = {}
    for (const k of Object.keys(v)) out[k] = cloneDoc(v[k])
    return out as V
  }
  return v
}

/** Human-readable value for error messages, in the mongo shell's style. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  if (v instanceof Date) return `new Date(${v.getTime()})`
  if (Array.isArray(v)) return `[ ${v.map(formatValue).join(', ')} ]`
  if (typeof v === 'object') {
    const t = bsonType(v)
    if (t === 'ObjectId') return `ObjectId('${(v as { toHexString(): string }).toHexString()}')`
    if (t) return `${t}(${v.toString()})`
    const entries = Object.entries(v as Doc)
    if (entries.length === 0) return '{}'
    return `{ ${entries.map(([k, val]) => `${k}: ${formatValue(val)}`).join(', ')} }`
  }
  return String(v)
}
