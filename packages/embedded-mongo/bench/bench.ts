// Latency benchmark through the official driver against a standalone
// embedded-mongo process (spawned like `pnpm start` would run it, so client and
// server get their own event loops). Loads messages into a collection with the
// app's two unique indexes and measures the hot paths at 20k and 200k docs.
//
//   pnpm --filter @parley/embedded-mongo bench

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Collection, MongoClient, type ObjectId } from 'mongodb'

const pkgDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const SIZES = [20_000, 200_000]
const ROOMS = 200
const SAMPLES = 1000

interface Message {
  _id?: ObjectId
  roomId: string
  seq: number
  authorId: string
  clientId: string
  body: string
  createdAt: Date
}

function stats(samples: number[]): { median: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number
  return { median: at(0.5), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length }
}

async function time(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await fn(i)
    out.push(performance.now() - t0)
  }
  return out
}

function message(i: number, seqs: number[]): Message {
  const room = i % ROOMS
  const seq = seqs[room] ?? 0
  seqs[room] = seq + 1
  return {
    roomId: `room-${room}`,
    seq,
    authorId: `user-${i % 37}`,
    clientId: `c-${i}`,
    body: `message ${i} — lorem ipsum dolor sit amet, consectetur adipiscing elit`,
    createdAt: new Date(1_700_000_000_000 + i * 1000),
  }
}

async function startServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--port', '0'], { cwd: pkgDir, stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /mongodb:\/\/\S+/.exec(out)
      if (m) resolve(m[0])
    })
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  })
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

async function runSize(client: MongoClient, size: number) {
  const coll: Collection<Message> = client.db('bench').collection(`messages_${size}`)
  await coll.drop()
  await coll.createIndex({ roomId: 1, seq: 1 }, { unique: true })
  await coll.createIndex({ roomId: 1, authorId: 1, clientId: 1 }, { unique: true, partialFilterExpression: { clientId: { $exists: true } } })
  const seqs: number[] = []
  const ids: ObjectId[] = []
  const BATCH = 5000
  const t0 = performance.now()
  for (let i = 0; i < size; i += BATCH) {
    const docs = Array.from({ length: Math.min(BATCH, size - i) }, (_, j) => message(i + j, seqs))
    const res = await coll.insertMany(docs)
    ids.push(...Object.values(res.insertedIds))
    if ((i / BATCH) % 8 === 7 || i + BATCH >= size) console.log(`  loaded ${Math.min(i + BATCH, size).toLocaleString()} / ${size.toLocaleString()}`)
  }
  const loadSec = (performance.now() - t0) / 1000
  console.log(`  loaded ${size.toLocaleString()} docs in ${loadSec.toFixed(1)}s (${Math.round(size / loadSec).toLocaleString()} docs/s)`)

  // Warm up connections and JIT.
  await time(200, (i) => coll.findOne({ _id: ids[(i * 7919) % ids.length] as ObjectId }))

  const findById = await time(SAMPLES, (i) => coll.findOne({ _id: ids[(i * 104_729) % ids.length] as ObjectId }))
  let next = size
  const insert = await time(SAMPLES, () => coll.insertOne(message(next++, seqs)))
  const perRoom = Math.floor(size / ROOMS)
  const history = await time(SAMPLES, async (i) => {
    const room = (i * 31) % ROOMS
    const before = 50 + ((i * 7477) % Math.max(1, perRoom - 50))
    const page = await coll
      .find({ roomId: `room-${room}`, seq: { $lt: before } })
      .sort({ seq: -1 })
      .limit(50)
      .toArray()
    if (page.length !== 50) throw new Error(`history page returned ${page.length} docs`)
  })
  return { size, loadSeconds: loadSec, findOneById: stats(findById), uniqueInsert: stats(insert), historyPage50: stats(history) }
}

const server = await startServer()
const client = new MongoClient(server.url, { maxPoolSize: 4 })
await client.connect()
const results = []
try {
  for (const size of SIZES) {
    console.log(`\n${size.toLocaleString()} messages over ${ROOMS} rooms:`)
    results.push(await runSize(client, size))
    await client.db('bench').collection(`messages_${size}`).drop() // free memory before the next size
  }
} finally {
  await client.close()
  await server.stop()
}

const ms = (n: number) => n.toFixed(3)
const lines = [
  '| docs | load (docs/s) | findOne by _id median / p99 (ms) | unique-index insert median / p99 (ms) | 50-msg history page median / p99 (ms) |',
  '| ---: | ---: | ---: | ---: | ---: |',
  ...results.map(
    (r) =>
      `| ${r.size.toLocaleString()} | ${Math.round(r.size / r.loadSeconds).toLocaleString()} | ${ms(r.findOneById.median)} / ${ms(r.findOneById.p99)} | ${ms(r.uniqueInsert.median)} / ${ms(r.uniqueInsert.p99)} | ${ms(r.historyPage50.median)} / ${ms(r.historyPage50.p99)} |`,
  ),
]
console.log('\n' + lines.join('\n'))
const out = path.join(pkgDir, 'bench', 'results.json')
fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, samples: SAMPLES, rooms: ROOMS, results }, null, 2) + '\n')
console.log(`\nwrote ${path.relative(process.cwd(), out)}`)
