import { type ChildProcess, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { MongoClient } from 'mongodb'
import { afterEach, describe, expect, it } from 'vitest'
import { connect } from './helpers.ts'

const pkgDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const dirs: string[] = []
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-mongo-test-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

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
    const start = async (): Promise<{ child: ChildProcess; url: string }> => {
      // `node --import tsx` (not the tsx wrapper) so that the pid we SIGKILL is the server itself.
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--port', '0', '--data', dataDir], {
        cwd: pkgDir,
        stdio: ['ignore', 'pipe', 'inherit'],
      })
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
})
