// In-memory databases, collections and their indexes.
//
// Documents are treated as immutable values: an update builds a new document
// and swaps it in. That lets open cursors keep referencing the version they
// saw, and lets index maintenance diff old vs. new keys. Every mutation is
// reported to the journal (persistence.ts) after it has been applied.

import { ObjectId } from 'bson'
import { Query } from 'mingo'
import { CommandError, Codes, badValue } from './errors.ts'
import { IndexTree } from './index-tree.ts'
import { CROSSES_ARRAY, type Doc, encodeValue, formatValue, isPlainObject, pathExists, pathValues, scalarPath } from './keys.ts'

export type JournalRecord =
  | { o: 'i' | 'u'; c: string; d: Doc }
  | { o: 'd'; c: string; id: unknown }
  | { o: 'cc'; c: string; opts: Doc }
  | { o: 'dc'; c: string }
  | { o: 'ci'; c: string; spec: Doc }
  | { o: 'di'; c: string; name: string }

export interface IndexField {
  readonly path: string
  readonly parts: string[]
  readonly dir: number
}

export class Index {
  readonly name: string
  readonly fields: IndexField[]
  readonly unique: boolean
  readonly sparse: boolean
  readonly partial: Query | undefined
  readonly spec: Doc
  readonly tree = new IndexTree()
  /** Set once any document contributed several keys (arrays); such an index can't provide sort order. */
  multikey = false

  constructor(spec: Doc) {
    const key = spec.key
    if (!isPlainObject(key) || Object.keys(key).length === 0) throw badValue('index key pattern must be a non-empty object')
    if (typeof spec.name !== 'string' || !spec.name) throw badValue('index name must be a non-empty string')
    this.name = spec.name
    this.fields = Object.entries(key).map(([path, dir]) => ({ path, parts: path.split('.'), dir: dir === -1 || dir === '-1' ? -1 : 1 }))
    // The _id index is always unique, although listIndexes doesn't say so.
    this.unique = spec.unique === true || this.name === '_id_'
    this.sparse = spec.sparse === true
    const pfe = spec.partialFilterExpression
    if (pfe !== undefined && !isPlainObject(pfe)) throw badValue('partialFilterExpression must be an object')
    this.partial = pfe ? new Query(pfe) : undefined
    this.spec = spec
  }

  /** True when the index holds every document (usable for query planning). */
  get complete(): boolean {
    return !this.sparse && !this.partial
  }

  /** Encoded keys for `doc`, or null when the document is not in this index (partial/sparse). */
  keysFor(doc: Doc): string[] | null {
    if (this.partial && !this.partial.test(doc)) return null
    if (this.sparse && !this.fields.some((f) => pathExists(doc, f.parts))) return null
    // Common case: one value per field (no arrays on the way) makes one key.
    let key = ''
    for (const f of this.fields) {
      const v = scalarPath(doc, f.parts)
      if (v === CROSSES_ARRAY) return this.multiKeysFor(doc)
      key += encodeValue(v)
    }
    return [key]
  }

  /** keysFor when an array is involved: the cross product of each field's distinct values. */
  private multiKeysFor(doc: Doc): string[] {
    let keys = ['']
    for (const f of this.fields) {
      const { values } = pathValues(doc, f.parts)
      const encs = [...new Set(values.map(encodeValue))]
      keys = encs.length === 1 ? keys.map((k) => k + encs[0]) : keys.flatMap((k) => encs.map((e) => k + e))
    }
    return keys
  }

  add(doc: Doc, rid: number, keys: string[] | null = this.keysFor(doc)): void {
    if (!keys) return
    if (!this.multikey && (keys.length > 1 || this.crossesArray(doc))) this.multikey = true
    for (const k of keys) this.tree.insert(k, rid)
  }

  private crossesArray(doc: Doc): boolean {
    for (const f of this.fields) if (scalarPath(doc, f.parts) === CROSSES_ARRAY) return true
    return false
  }

  keyValue(doc: Doc): Doc {
    const out: Doc = {}
    for (const f of this.fields) out[f.path] = pathValues(doc, f.parts).values[0] ?? null
    return out
  }

  sameSpecAs(spec: Doc): boolean {
    const norm = (s: Doc) =>
      encodeValue({ key: s.key, unique: s.unique === true, sparse: s.sparse === true, pfe: s.partialFilterExpression ?? null, ttl: s.expireAfterSeconds ?? null })
    return norm(this.spec) === norm(spec)
  }
}

export function defaultIndexName(key: Doc): string {
  return Object.entries(key)
    .map(([k, v]) => `${k}_${String(v)}`)
    .join('_')
}

export class Collection {
  readonly docs = new Map<number, Doc>()
  readonly indexes: Index[]
  private nextRid = 1
  readonly db: Database
  readonly name: string
  readonly options: Doc

  constructor(db: Database, name: string, options: Doc = {}) {
    this.db = db
    this.name = name
    this.options = options
    this.indexes = [new Index({ v: 2, key: { _id: 1 }, name: '_id_' })]
  }

  get ns(): string {
    return `${this.db.name}.${this.name}`
  }

  get idIndex(): Index {
    return this.indexes[0] as Index
  }

  ridById(id: unknown): number | undefined {
    return this.idIndex.tree.first(encodeValue(id))
  }

  private dupKeyError(index: Index, doc: Doc): CommandError {
    const keyValue = index.keyValue(doc)
    return new CommandError(Codes.DuplicateKey, `E11000 duplicate key error collection: ${this.ns} index: ${index.name} dup key: ${formatValue(keyValue)}`, {
      keyPattern: index.spec.key,
      keyValue,
    })
  }

  /** Inserts a document (adding an ObjectId `_id` first if missing) and returns the stored document. */
  insert(input: Doc): Doc {
    let doc = input
    const fields = Object.keys(doc)
    // MongoDB stores _id as the first field; the driver appends it when it generates one.
    if (doc._id === undefined) doc = { _id: new ObjectId(), ...doc }
    else if (fields[0] !== '_id') {
      const { _id, ...rest } = doc
      doc = { _id, ...rest }
    }
    if (Array.isArray(doc._id)) throw badValue("can't use an array for _id")
    for (const k of fields) if (k.startsWith('$')) throw new CommandError(Codes.DollarPrefixedFieldName, `Document can't have $ prefixed field names: ${k}`)
    const rid = this.nextRid++
    const { indexes } = this
    const keys: (string[] | null)[] = []
    for (const ix of indexes) {
      const ixKeys = ix.keysFor(doc)
      if (ix.unique && ixKeys) for (const k of ixKeys) if (ix.tree.findOther(k, rid) !== undefined) throw this.dupKeyError(ix, doc)
      keys.push(ixKeys)
    }
    for (let i = 0; i < indexes.length; i++) (indexes[i] as Index).add(doc, rid, keys[i])
    this.docs.set(rid, doc)
    if (this.db.engine.onJournal) this.db.journal({ o: 'i', c: this.name, d: doc })
    return doc
  }

  /** Swaps in a new version of the document stored under `rid`, enforcing unique indexes. */
  replace(rid: number, next: Doc): void {
    const prev = this.docs.get(rid)
    if (!prev) throw new CommandError(Codes.InternalError, 'document vanished during update')
    const changes = this.indexes.map((ix) => {
      const before = ix.keysFor(prev) ?? []
      const after = ix.keysFor(next) ?? []
      return { ix, removed: before.filter((k) => !after.includes(k)), added: after.filter((k) => !before.includes(k)), after }
    })
    for (const { ix, added } of changes) {
      if (ix.unique) for (const k of added) if (ix.tree.findOther(k, rid) !== undefined) throw this.dupKeyError(ix, next)
    }
    for (const { ix, removed, added, after } of changes) {
      for (const k of removed) ix.tree.remove(k, rid)
      if (added.length) ix.add(next, rid, added)
      else if (after.length > 1) ix.multikey = true
    }
    this.docs.set(rid, next)
    this.db.journal({ o: 'u', c: this.name, d: next })
  }

  remove(rid: number): void {
    const doc = this.docs.get(rid)
    if (!doc) return
    for (const ix of this.indexes) for (const k of ix.keysFor(doc) ?? []) ix.tree.remove(k, rid)
    this.docs.delete(rid)
    this.db.journal({ o: 'd', c: this.name, id: doc._id })
  }

  /** Creates an index; returns false when an identical one already exists (idempotent). */
  createIndex(rawSpec: Doc): boolean {
    const key = rawSpec.key
    if (!isPlainObject(key)) throw badValue('index spec must have a key object')
    const { v: _v, key: _k, name, ...options } = rawSpec
    const spec: Doc = { v: 2, key, name: name ?? defaultIndexName(key), ...options }
    const sameName = this.indexes.find((ix) => ix.name === spec.name)
    if (sameName) {
      if (sameName.sameSpecAs(spec)) return false
      throw new CommandError(
        encodeValue(sameName.spec.key) === encodeValue(key) ? Codes.IndexOptionsConflict : Codes.IndexKeySpecsConflict,
        `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${formatValue(spec)}, existing index: ${formatValue(sameName.spec)}`,
      )
    }
    const sameKey = this.indexes.find((ix) => ix.sameSpecAs(spec))
    if (sameKey) throw new CommandError(Codes.IndexOptionsConflict, `Index already exists with a different name: ${sameKey.name}`)
    const ix = new Index(spec)
    // Build fully before publishing so a duplicate leaves the collection untouched.
    for (const [rid, doc] of this.docs) {
      const keys = ix.keysFor(doc)
      if (ix.unique) for (const k of keys ?? []) if (ix.tree.findOther(k, rid) !== undefined) throw this.dupKeyError(ix, doc)
      ix.add(doc, rid, keys)
    }
    this.indexes.push(ix)
    this.db.journal({ o: 'ci', c: this.name, spec })
    return true
  }

  dropIndex(name: string): void {
    if (name === '_id_') throw new CommandError(Codes.InvalidOptions, 'cannot drop _id index')
    const i = this.indexes.findIndex((ix) => ix.name === name)
    if (i < 0) throw new CommandError(Codes.IndexNotFound, `index not found with name [${name}]`)
    this.indexes.splice(i, 1)
    this.db.journal({ o: 'di', c: this.name, name })
  }
}

export class Database {
  readonly collections = new Map<string, Collection>()
  readonly engine: Engine
  readonly name: string

  constructor(engine: Engine, name: string) {
    this.engine = engine
    this.name = name
  }

  journal(rec: JournalRecord): void {
    this.engine.onJournal?.(this.name, rec)
  }

  collection(name: string): Collection | undefined {
    return this.collections.get(name)
  }

  /** Returns the collection, creating it implicitly (as MongoDB does on first write). */
  ensureCollection(name: string): Collection {
    return this.collections.get(name) ?? this.createCollection(name, {})
  }

  createCollection(name: string, opts: Doc): Collection {
    validateCollectionName(name)
    if (this.collections.has(name)) throw new CommandError(Codes.NamespaceExists, `Collection ${this.name}.${name} already exists.`)
    const coll = new Collection(this, name, opts)
    this.collections.set(name, coll)
    this.journal({ o: 'cc', c: name, opts })
    return coll
  }

  dropCollection(name: string): boolean {
    if (!this.collections.delete(name)) return false
    this.journal({ o: 'dc', c: name })
    return true
  }
}

export function validateCollectionName(name: string): void {
  if (!name || name.includes('\0') || name.startsWith('.') || name.includes('$')) {
    throw new CommandError(Codes.InvalidNamespace, `Invalid collection name: '${name}'`)
  }
}

export class Engine {
  readonly dbs = new Map<string, Database>()
  /** Set by persistence; called for every applied mutation. */
  onJournal: ((db: string, rec: JournalRecord) => void) | undefined
  onDropDatabase: ((db: string) => void) | undefined

  dropDatabase(name: string): void {
    this.dbs.delete(name)
    this.onDropDatabase?.(name)
  }

  db(name: string): Database {
    const known = this.dbs.get(name)
    if (known) return known
    if (!name || /[/\\. "$\0]/.test(name)) throw new CommandError(Codes.InvalidNamespace, `Invalid database name: '${name}'`)
    let db = this.dbs.get(name)
    if (!db) {
      db = new Database(this, name)
      this.dbs.set(name, db)
    }
    return db
  }
}
