import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { BSON } from 'bson'
import { MongoClient } from 'mongodb'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { connect } from './helpers.ts'

const pkgDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const dirs: string[] = []
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-mongo-test-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  vi.restoreAllMocks()
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

/** An OP_MSG request frame. */
function opMsg(requestId: number, doc: object): Buffer {
  const body = BSON.serialize(doc)
  const head = Buffer.alloc(21)
  head.writeInt32LE(21 + body.length, 0)
  head.writeInt32LE(requestId, 4)
  head.writeInt32LE(2013, 12)
  return Buffer.concat([head, body])
}

/** Raw connections, each answered one ping (so the server reads them all); `reply()` resolves with the next reply. */
async function rawConnections(port: number, n: number) {
  return Promise.all(
    Array.from({ length: n }, () => {
      return new Promise<{ socket: net.Socket; reply: () => Promise<Record<string, unknown>> }>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          void reply().then(() => resolve({ socket, reply }))
          socket.write(opMsg(1000, { ping: 1, $db: 'admin' }))
        })
        let buffered = Buffer.alloc(0)
        const waiting: ((doc: Record<string, unknown>) => void)[] = []
        socket.on('data', (d: Buffer) => {
          buffered = Buffer.concat([buffered, d])
          while (buffered.length >= 4 && buffered.length >= buffered.readInt32LE(0)) {
            const len = buffered.readInt32LE(0)
            waiting.shift()?.(BSON.deserialize(buffered.subarray(21, len)))
            buffered = buffered.subarray(len)
          }
        })
        const reply = () => new Promise<Record<string, unknown>>((r) => waiting.push(r))
      })
    }),
  )
}

/** Calls of fs.writeSync on journal files. */
function journalWrites(): { count: () => number } {
  const journalFds = new Set<number>()
  const open = fs.openSync.bind(fs)
  vi.spyOn(fs, 'openSync').mockImplementation(((file: fs.PathLike, ...rest: [never]) => {
    const fd = open(file, ...rest)
    if (String(file).endsWith('journal.bin')) journalFds.add(fd)
    return fd
  }) as typeof fs.openSync)
  const write = vi.spyOn(fs, 'writeSync')
  return { count: () => write.mock.calls.filter(([fd]) => journalFds.has(fd as number)).length }
}

describe('persistence', () => {
  it('keeps documents, updates, deletes and indexes across a restart', async () => {
    const dataDir = tempDir()
    let h = await connect({ dataDir })
    const c = h.client.db('app').collection('messages')
    await c.createIndex({ roomId: 1, seq: 1 }, { unique: true })
    await c.insertMany(Array.from({ length: 100 }, (_, i) => ({ roomId: 'r', seq: i, when: new Date(i) })))
    await c.updateMany({ seq: { $lt: 10 } }, { $set: { edited: true } })
    await c.deleteMany({ seq: { $gte: 90 } })
    await h.client.db('app').collection('gone').insertOne({ x: 1 })
    await h.client.db('app').collection('gone').drop()
    await h.client.db('tmp').collection('x').insertOne({ x: 1 })
    await h.client.db('tmp').dropDatabase()
    await h.close()

    h = await connect({ dataDir })
    const c2 = h.client.db('app').collection('messages')
    expect(await c2.countDocuments()).toBe(90)
    expect(await c2.countDocuments({ edited: true })).toBe(10)
    expect((await c2.findOne({ seq: 5 }))?.when).toEqual(new Date(5))
    expect((await c2.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_', 'roomId_1_seq_1'])
    await expect(c2.insertOne({ roomId: 'r', seq: 1 })).rejects.toMatchObject({ code: 11000 })
    expect((await h.client.db('app').listCollections().toArray()).map((x) => x.name)).toEqual(['messages'])
    expect((await h.client.db('admin').admin().listDatabases()).databases.map((d) => d.name)).toEqual(['app'])
    await h.close()
  })

  it('compacts into a snapshot and replays snapshot + journal', async () => {
    const dataDir = tempDir()
    let h = await connect({ dataDir, compactBytes: 20_000 })
    const c = h.client.db('app').collection('c')
    for (let i = 0; i < 20; i++) await c.insertMany(Array.from({ length: 20 }, (_, j) => ({ i, j, pad: 'x'.repeat(50) })))
    await c.updateMany({ j: 0 }, { $inc: { i: 1000 } })
    expect(fs.existsSync(path.join(dataDir, 'app', 'snapshot.bin'))).toBe(true)
    await h.close()
    h = await connect({ dataDir })
    expect(await h.client.db('app').collection('c').countDocuments()).toBe(400)
    expect(await h.client.db('app').collection('c').countDocuments({ i: { $gte: 1000 } })).toBe(20)
    await h.close()
  })

  it('tolerates a torn tail record in the journal', async () => {
    const dataDir = tempDir()
    let h = await connect({ dataDir })
    await h.client.db('app').collection('c').insertMany([{ n: 1 }, { n: 2 }])
    await h.close()
    const journal = path.join(dataDir, 'app', 'journal.bin')
    // A crash mid-append leaves a partial record: a plausible header and some of its bytes.
    const torn = Buffer.alloc(40, 0xab)
    torn.writeUInt32LE(500, 0)
    fs.appendFileSync(journal, torn)

    const logs: string[] = []
    h = await connect({ dataDir, log: (m) => logs.push(m) })
    const c = h.client.db('app').collection('c')
    expect(await c.countDocuments()).toBe(2)
    expect(logs.join('\n')).toContain('torn tail')
    await c.insertOne({ n: 3 }) // appended after the truncated tail, so it must be readable next time
    await h.close()
    fs.appendFileSync(journal, Buffer.from([1, 2, 3]))
    h = await connect({ dataDir, log: () => {} })
    expect((await h.client.db('app').collection('c').find({}, { sort: { n: 1 } }).toArray()).map((d) => d.n)).toEqual([1, 2, 3])
    await h.close()
  })

  it('refuses a data directory locked by another live process', async () => {
    const dataDir = tempDir()
    fs.writeFileSync(path.join(dataDir, 'embedded-mongo.lock'), String(process.ppid))
    await expect(connect({ dataDir })).rejects.toThrow(/in use/)
  })

  it('loses no acknowledged write when the process is SIGKILLed', async () => {
    const dataDir = tempDir()
    const start = () => startCli(dataDir)

    const first = await start()
    const client = new MongoClient(first.url, { serverSelectionTimeoutMS: 5000 })
    const coll = client.db('app').collection('acks')
    await coll.createIndex({ n: 1 }, { unique: true })
    const acked: number[] = []
    let stop = false
    // Several concurrent writers, so the kill lands while writes are in flight.
    const writers = [0, 1, 2, 3].map(async (w) => {
      for (let i = 0; !stop; i++) {
        const n = i * 4 + w
        try {
          await coll.insertOne({ n, body: 'payload'.repeat(20) })
          acked.push(n)
        } catch {
          return
        }
      }
    })
    while (acked.length < 400) await new Promise((r) => setTimeout(r, 5))
    first.child.kill('SIGKILL')
    stop = true
    await Promise.all(writers)
    await new Promise((r) => (first.child.exitCode !== null || first.child.signalCode !== null ? r(undefined) : first.child.once('exit', r)))
    await client.close(true)

    const second = await start()
    try {
      const c2 = new MongoClient(second.url, { serverSelectionTimeoutMS: 5000 })
      const present = new Set((await c2.db('app').collection('acks').find({}, { projection: { n: 1 } }).toArray()).map((d) => d.n as number))
      const missing = acked.filter((n) => !present.has(n))
      expect(missing).toEqual([])
      expect(present.size).toBeGreaterThanOrEqual(acked.length)
      await c2.close()
    } finally {
      second.child.kill('SIGTERM')
      await new Promise((r) => second.child.once('exit', r))
    }
  })

  it('group commit: the writes that arrive in one turn share one journal write, and are acknowledged after it', async () => {
    const dataDir = tempDir()
    const writes = journalWrites()
    let h = await connect({ dataDir })
    await h.client.db('app').collection('g').insertOne({ warm: true }) // creates the database and its journal
    const conns = await rawConnections(h.server.port, 8)
    const before = writes.count()
    // Eight connections, eight inserts and a read, all readable when the server next polls.
    const replies = conns.map(({ socket, reply }, i) => {
      socket.write(opMsg(i + 1, i === 7 ? { find: 'g', filter: {}, $db: 'app' } : { insert: 'g', documents: [{ n: i }], $db: 'app' }))
      return reply()
    })
    const docs = await Promise.all(replies)
    expect(docs.slice(0, 7).every((d) => d.ok === 1 && d.n === 1)).toBe(true)
    expect(docs[7]).toMatchObject({ ok: 1 })
    expect(writes.count() - before).toBe(1)
    for (const { socket } of conns) socket.destroy()
    await h.close()
    h = await connect({ dataDir })
    expect(await h.client.db('app').collection('g').countDocuments({ n: { $exists: true } })).toBe(7)
    await h.close()
  })

  it('group commit: when the journal write fails, no command of that turn is acknowledged', async () => {
    const dataDir = tempDir()
    const logs: string[] = []
    const h = await connect({ dataDir, log: (m) => logs.push(m) })
    const c = h.client.db('app').collection('f')
    await c.insertOne({ ok: true })
    const realWrite = fs.writeSync.bind(fs)
    const write = vi.spyOn(fs, 'writeSync').mockImplementationOnce(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
    })
    const results = await Promise.allSettled([c.insertOne({ n: 1 }), c.insertOne({ n: 2 }), c.findOne({ ok: true })])
    const failed = results.filter((r) => r.status === 'rejected')
    expect(failed.length).toBeGreaterThanOrEqual(1)
    for (const f of failed) expect(String((f as PromiseRejectedResult).reason)).toMatch(/failed to persist: ENOSPC/)
    write.mockImplementation(realWrite as typeof fs.writeSync)
    expect(await c.insertOne({ n: 3 })).toMatchObject({ acknowledged: true })
    expect(logs.join('\n')).toContain('failed to persist')
    await h.close()
  })

  it('group commit under load: concurrent writers and readers on many connections, then SIGKILL, lose nothing acknowledged', async () => {
    const dataDir = tempDir()
    const { child, url } = await startCli(dataDir)
    // Several clients with several connections each: many commands land in the same turn.
    const clients = Array.from({ length: 4 }, () => new MongoClient(url, { serverSelectionTimeoutMS: 5000, maxPoolSize: 8 }))
    const acked: number[] = []
    const seenByReaders = new Set<number>()
    let stop = false
    const writers = clients.flatMap((client, ci) =>
      Array.from({ length: 8 }, async (_, w) => {
        const coll = client.db('app').collection('acks')
        for (let i = 0; !stop; i++) {
          const n = (i * 32 + ci * 8 + w) * 2
          try {
            // One single insert and one batch of two per round.
            await (i % 2 ? coll.insertOne({ n }) : coll.insertMany([{ n }, { n: n + 1 }]))
            acked.push(n)
            if (!(i % 2)) acked.push(n + 1)
          } catch {
            return
          }
        }
      }),
    )
    const readers = clients.map(async (client) => {
      while (!stop) {
        try {
          for (const d of await client.db('app').collection('acks').find({}, { projection: { n: 1 } }).sort({ _id: -1 }).limit(20).toArray()) seenByReaders.add(d.n as number)
        } catch {
          return
        }
      }
    })
    while (acked.length < 1500) await new Promise((r) => setTimeout(r, 5))
    child.kill('SIGKILL')
    stop = true
    await Promise.all([...writers, ...readers])
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)))
    await Promise.all(clients.map((c) => c.close(true)))

    const h = await connect({ dataDir })
    try {
      const present = new Set((await h.client.db('app').collection('acks').find({}, { projection: { n: 1 } }).toArray()).map((d) => d.n as number))
      expect(acked.filter((n) => !present.has(n))).toEqual([])
      // Nothing a reader was shown can have been lost either.
      expect([...seenByReaders].filter((n) => !present.has(n))).toEqual([])
    } finally {
      await h.close()
    }
  })
})

/** The standalone CLI on a free port with `dataDir`; `node --import tsx` (not the tsx wrapper) so the pid we SIGKILL is the server itself. */
async function startCli(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--port', '0', '--data', dataDir], { cwd: pkgDir, stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /mongodb:\/\/\S+/.exec(out)
      if (m) resolve(m[0])
    })
    child.once('exit', (code) => reject(new Error(`cli exited early with ${code}: ${out}`)))
  })
  return { child, url }
}
