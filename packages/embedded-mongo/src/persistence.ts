// Durability for development: per database, an append-only journal plus a
// periodically compacted snapshot.
//
//   <dataDir>/<db>/journal.bin   records appended after every command, before the reply
//   <dataDir>/<db>/snapshot.bin  full state, written to snapshot.tmp then renamed
//
// Record framing: [u32 length][u32 crc32][BSON document]. The reader stops at
// the first incomplete or corrupt record (a torn tail from a crash mid-write)
// and truncates it away before appending again.
//
// Both files start with a {o:'gen', g} record. Compaction writes snapshot g+1,
// then a fresh journal g+1; a journal whose generation is older than the
// snapshot is already contained in it and is ignored, so a crash between the
// two renames is harmless.
//
// Records are handed to write(2) before the command is acknowledged, so a
// process crash (even SIGKILL) loses nothing acknowledged: the kernel owns the
// bytes. Power loss / OS crash is out of scope unless `fsync: true`. The
// server calls `flush` once per event-loop turn for all the commands that ran
// in it (group commit, see server.ts), holding their replies until then.

import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { BSON } from 'bson'
import type { Doc } from './keys.ts'
import type { Engine, JournalRecord } from './store.ts'
import { decodeDoc } from './wire.ts'

const JOURNAL = 'journal.bin'
const SNAPSHOT = 'snapshot.bin'

export interface PersistenceOptions {
  /** fsync the journal after every write command (survives power loss; slower). */
  fsync?: boolean
  /** Compact when the journal exceeds this many bytes (and is larger than the snapshot). */
  compactBytes?: number
  log?: (msg: string) => void
}

interface DbFiles {
  dir: string
  fd: number
  gen: number
  journalBytes: number
  snapshotBytes: number
  pending: Buffer[]
}

function frame(rec: Doc): Buffer {
  const bson = BSON.serialize(rec)
  const head = Buffer.alloc(8)
  head.writeUInt32LE(bson.length, 0)
  head.writeUInt32LE(zlib.crc32(bson), 4)
  return Buffer.concat([head, bson])
}

/** All intact records of a file, and the byte length they occupy (anything after is a torn tail). */
export function readRecords(file: string): { records: Doc[]; validBytes: number; totalBytes: number } {
  const buf = fs.readFileSync(file)
  const records: Doc[] = []
  let off = 0
  while (off + 8 <= buf.length) {
    const len = buf.readUInt32LE(off)
    const crc = buf.readUInt32LE(off + 4)
    if (len < 5 || off + 8 + len > buf.length) break
    const body = buf.subarray(off + 8, off + 8 + len)
    if (zlib.crc32(body) !== crc) break
    try {
      records.push(decodeDoc(body))
    } catch {
      break
    }
    off += 8 + len
  }
  return { records, validBytes: off, totalBytes: buf.length }
}

/** Writes `records` to `file` atomically (temp file, fsync, rename). Returns the byte size. */
function writeAtomically(file: string, records: Iterable<Doc>): number {
  const tmp = file + '.tmp'
  const fd = fs.openSync(tmp, 'w')
  let size = 0
  try {
    let chunk: Buffer[] = []
    let chunkBytes = 0
    for (const rec of records) {
      const b = frame(rec)
      chunk.push(b)
      chunkBytes += b.length
      if (chunkBytes > 4 << 20) {
        size += fs.writeSync(fd, Buffer.concat(chunk))
        chunk = []
        chunkBytes = 0
      }
    }
    if (chunk.length) size += fs.writeSync(fd, Buffer.concat(chunk))
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
  return size
}

export class Persistence {
  private readonly files = new Map<string, DbFiles>()
  private readonly dataDir: string
  private readonly engine: Engine
  private readonly opts: PersistenceOptions
  private readonly lockFile: string
  /** Records journaled since the last flush, over all databases. */
  private pendingRecords = 0

  constructor(dataDir: string, engine: Engine, opts: PersistenceOptions = {}) {
    this.dataDir = path.resolve(dataDir)
    this.engine = engine
    this.opts = opts
    this.lockFile = path.join(this.dataDir, 'embedded-mongo.lock')
  }

  /** Locks the directory, replays every database, then starts journaling. */
  open(): void {
    fs.mkdirSync(this.dataDir, { recursive: true })
    this.lock()
    for (const entry of fs.readdirSync(this.dataDir, { withFileTypes: true })) {
      if (entry.isDirectory()) this.load(decodeURIComponent(entry.name), path.join(this.dataDir, entry.name))
    }
    this.engine.onJournal = (db, rec) => {
      this.dbFiles(db).pending.push(frame(rec as unknown as Doc))
      this.pendingRecords++
    }
    this.engine.onDropDatabase = (db) => this.dropDb(db)
  }

  // Two processes appending to one journal would corrupt it; a lock held by a dead pid (after a crash) is taken over.
  private lock(): void {
    try {
      const pid = Number(fs.readFileSync(this.lockFile, 'utf8'))
      if (pid && pid !== process.pid) {
        let alive = true
        try {
          process.kill(pid, 0)
        } catch (err) {
          alive = (err as NodeJS.ErrnoException).code === 'EPERM'
        }
        if (alive) throw new Error(`embedded-mongo: data directory ${this.dataDir} is in use by process ${pid}`)
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    fs.writeFileSync(this.lockFile, String(process.pid))
  }

  private load(dbName: string, dir: string): void {
    const db = this.engine.db(dbName)
    let gen = 0
    let snapshotBytes = 0
    const snapFile = path.join(dir, SNAPSHOT)
    if (fs.existsSync(snapFile)) {
      const { records, totalBytes } = readRecords(snapFile)
      const head = records[0]
      if (head?.o !== 'gen') throw new Error(`embedded-mongo: ${snapFile} is not a snapshot`)
      gen = head.g as number
      snapshotBytes = totalBytes
      for (const rec of records.slice(1)) this.apply(dbName, rec)
    }
    const journalFile = path.join(dir, JOURNAL)
    let journalBytes = 0
    if (fs.existsSync(journalFile)) {
      const { records, validBytes, totalBytes } = readRecords(journalFile)
      if (records[0]?.o === 'gen' && records[0].g === gen) {
        for (const rec of records.slice(1)) this.apply(dbName, rec)
        if (validBytes < totalBytes) {
          this.opts.log?.(`embedded-mongo: ${journalFile}: ignoring ${totalBytes - validBytes} bytes of torn tail`)
          fs.truncateSync(journalFile, validBytes)
        }
        journalBytes = validBytes
      }
    }
    if (journalBytes === 0) journalBytes = writeAtomically(journalFile, [{ o: 'gen', g: gen }])
    this.files.set(dbName, { dir, fd: fs.openSync(journalFile, 'a'), gen, journalBytes, snapshotBytes, pending: [] })
    if (db.collections.size === 0) this.engine.dbs.delete(dbName)
  }

  /** Replays one record. Idempotent: inserts of an existing _id replace it. */
  private apply(dbName: string, rec: Doc): void {
    const db = this.engine.db(dbName)
    const c = rec.c as string
    try {
      switch (rec.o as JournalRecord['o']) {
        case 'cc':
          if (!db.collection(c)) db.createCollection(c, (rec.opts ?? {}) as Doc)
          break
        case 'dc':
          db.dropCollection(c)
          break
        case 'i':
        case 'u': {
          const coll = db.ensureCollection(c)
          const doc = rec.d as Doc
          const rid = coll.ridById(doc._id)
          if (rid === undefined) coll.insert(doc)
          else coll.replace(rid, doc)
          break
        }
        case 'd': {
          const coll = db.collection(c)
          const rid = coll?.ridById(rec.id)
          if (coll && rid !== undefined) coll.remove(rid)
          break
        }
        case 'ci':
          db.ensureCollection(c).createIndex(rec.spec as Doc)
          break
        case 'di':
          db.collection(c)?.dropIndex(rec.name as string)
          break
      }
    } catch (err) {
      this.opts.log?.(`embedded-mongo: replay of ${String(rec.o)} on ${dbName}.${c} failed: ${(err as Error).message}`)
    }
  }

  private dbFiles(dbName: string): DbFiles {
    let f = this.files.get(dbName)
    if (!f) {
      const dir = path.join(this.dataDir, encodeURIComponent(dbName))
      fs.mkdirSync(dir, { recursive: true })
      const journalFile = path.join(dir, JOURNAL)
      const journalBytes = writeAtomically(journalFile, [{ o: 'gen', g: 0 }])
      f = { dir, fd: fs.openSync(journalFile, 'a'), gen: 0, journalBytes, snapshotBytes: 0, pending: [] }
      this.files.set(dbName, f)
    }
    return f
  }

  private dropDb(dbName: string): void {
    const f = this.files.get(dbName)
    if (!f) return
    fs.closeSync(f.fd)
    fs.rmSync(f.dir, { recursive: true, force: true })
    this.files.delete(dbName)
  }

  /** Whether records wait for `flush`. */
  hasPending(): boolean {
    return this.pendingRecords > 0
  }

  /** Appends everything journaled since the last flush. Called before the replies of the commands that wrote it. */
  flush(): void {
    if (this.pendingRecords === 0) return
    try {
      for (const [dbName, f] of this.files) {
        if (f.pending.length === 0) continue
        const buf = f.pending.length === 1 ? (f.pending[0] as Buffer) : Buffer.concat(f.pending)
        f.pending = []
        let off = 0
        while (off < buf.length) off += fs.writeSync(f.fd, buf, off)
        if (this.opts.fsync) fs.fsyncSync(f.fd)
        f.journalBytes += buf.length
        const limit = this.opts.compactBytes ?? 64 << 20
        if (f.journalBytes > limit && f.journalBytes > f.snapshotBytes) this.compact(dbName)
      }
    } finally {
      // After a failure, what other databases still hold goes out with the next flush.
      this.pendingRecords = 0
      for (const f of this.files.values()) this.pendingRecords += f.pending.length
    }
  }

  /** Rewrites the database as a snapshot and starts an empty journal. */
  compact(dbName: string): void {
    const f = this.files.get(dbName)
    const db = this.engine.dbs.get(dbName)
    if (!f) return
    const gen = f.gen + 1
    const engineDb = db
    function* records(): Generator<Doc> {
      yield { o: 'gen', g: gen }
      for (const coll of engineDb?.collections.values() ?? []) {
        yield { o: 'cc', c: coll.name, opts: coll.options }
        for (const ix of coll.indexes.slice(1)) yield { o: 'ci', c: coll.name, spec: ix.spec }
        for (const doc of coll.docs.values()) yield { o: 'i', c: coll.name, d: doc }
      }
    }
    f.snapshotBytes = writeAtomically(path.join(f.dir, SNAPSHOT), records())
    fs.closeSync(f.fd)
    const journalFile = path.join(f.dir, JOURNAL)
    f.journalBytes = writeAtomically(journalFile, [{ o: 'gen', g: gen }])
    f.fd = fs.openSync(journalFile, 'a')
    f.gen = gen
  }

  close(): void {
    this.flush()
    for (const [dbName, f] of this.files) {
      // Compact on clean shutdown so the next start replays a snapshot instead of a long journal.
      if (f.journalBytes > 1 << 20) this.compact(dbName)
      fs.closeSync(f.fd)
    }
    this.files.clear()
    this.engine.onJournal = undefined
    this.engine.onDropDatabase = undefined
    try {
      if (fs.readFileSync(this.lockFile, 'utf8') === String(process.pid)) fs.unlinkSync(this.lockFile)
    } catch {
      // already gone
    }
  }
}
