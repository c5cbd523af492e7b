// CPU per command inside the server, without sockets: each request is an
// OP_MSG body as the driver would send it, run through the same steps as a
// connection (parse, execute, journal when a data directory is set, encode the
// reply). Syscalls and the event loop are left out on purpose, so the figures
// hold still on a busy machine; `bench.ts` measures through the real driver.
// The commands are the ones a Parley send and its readers issue.
//
//   pnpm --filter @parley/embedded-mongo bench:commands [--data] [--rounds 7] [--n 20000] [--only find]

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { BSON, ObjectId } from 'bson'
import { runCommand } from '../src/commands/index.ts'
import { CursorRegistry } from '../src/cursors.ts'
import { Persistence } from '../src/persistence.ts'
import { Engine } from '../src/store.ts'
import { encodeOpMsg, parseOpMsg } from '../src/wire.ts'

const { values } = parseArgs({
  options: {
    data: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '7' },
    n: { type: 'string', default: '20000' },
    /** Only the scenarios whose name contains this. */
    only: { type: 'string' },
  },
})
const ROUNDS = Number(values.rounds)
const N = Number(values.n)
const ROOMS = 200

/** An OP_MSG body: flags, a kind-0 section, and optionally one kind-1 document sequence (as the driver sends inserts). */
function opMsg(command: Record<string, unknown>, sequence?: { id: string; docs: Record<string, unknown>[] }): Buffer {
  const parts = [Buffer.alloc(4), Buffer.from([0]), Buffer.from(BSON.serialize(command))]
  if (sequence) {
    const docs = sequence.docs.map((d) => Buffer.from(BSON.serialize(d)))
    const id = Buffer.from(sequence.id + '\0')
    const size = Buffer.alloc(4)
    size.writeInt32LE(4 + id.length + docs.reduce((n, d) => n + d.length, 0))
    parts.push(Buffer.from([1]), size, id, ...docs)
  }
  return Buffer.concat(parts)
}

const dataDir = values.data ? fs.mkdtempSync(path.join(os.tmpdir(), 'embedded-mongo-commands-')) : undefined
const engine = new Engine()
const persistence = dataDir ? new Persistence(dataDir, engine) : undefined
persistence?.open()
const cursors = new CursorRegistry()
const ctx = { engine, cursors, dbName: 'bench', connectionId: 1, startedAt: Date.now() }

let requestId = 0
function execute(body: Buffer): Buffer {
  const { command } = parseOpMsg(body)
  const reply = runCommand(command, ctx)
  persistence?.flush()
  if (reply.ok !== 1) throw new Error(`command failed: ${JSON.stringify(reply)}`)
  return encodeOpMsg(++requestId, reply)
}

function setup(): void {
  const createIndexes = (coll: string, indexes: Record<string, unknown>[]) => execute(opMsg({ createIndexes: coll, indexes, $db: 'bench' }))
  createIndexes('events', [
    { key: { roomId: 1, seq: 1 }, name: 'events_room_seq_unique', unique: true },
    { key: { roomId: 1, authorId: 1, clientId: 1 }, name: 'events_room_author_client_unique', unique: true, partialFilterExpression: { clientId: { $exists: true } } },
  ])
  createIndexes('messages', [{ key: { roomId: 1, seq: 1 }, name: 'messages_room_seq_unique', unique: true }])
}

const rooms = Array.from({ length: ROOMS }, () => new ObjectId())
const authors = Array.from({ length: 64 }, (_, i) => ({ _id: new ObjectId(), username: `user${i}`, displayName: `User ${i}` }))
const eventSeqs = new Array<number>(ROOMS).fill(0)
const messageSeqs = new Array<number>(ROOMS).fill(0)
const lsid = { id: new BSON.UUID() }
const body = 'hello there — a message of ordinary length, about sixty chars'

/** The writes of a send as the driver encodes them: the event, then the message document (insert, or the old upsert). */
function sendRequests(i: number, which: 'event' | 'insert' | 'upsert'): Buffer {
  const r = i % ROOMS
  const roomId = rooms[r] as ObjectId
  const seq = which === 'event' ? ++eventSeqs[r]! : (eventSeqs[r] ?? 0)
  const messageSeq = which === 'event' ? 0 : ++messageSeqs[r]!
  const a = authors[i % authors.length]!
  const author = { id: a._id.toHexString(), username: a.username, displayName: a.displayName }
  const id = new ObjectId()
  const clientId = `c${i}`
  const message = { id: id.toHexString(), roomId: roomId.toHexString(), seq, author, body, createdAt: new Date().toISOString(), editedAt: null, deleted: false, clientId, reactions: [] }
  const event = { _id: new ObjectId(), roomId, seq, data: { type: 'message.created', roomId: message.roomId, seq, message }, createdAt: new Date(), authorId: a._id, clientId }
  const doc = { _id: id, roomId, seq: messageSeq, authorId: a._id, author, body, clientId, createdAt: new Date(), editedAt: null, deleted: false, reactions: {}, updatedSeq: seq }
  const { _id, ...fields } = doc
  if (which === 'event') return opMsg({ insert: 'events', ordered: true, lsid, $db: 'bench' }, { id: 'documents', docs: [event] })
  if (which === 'insert') return opMsg({ insert: 'messages', ordered: true, lsid, $db: 'bench' }, { id: 'documents', docs: [doc] })
  return opMsg({ update: 'messages', ordered: true, lsid, $db: 'bench' }, { id: 'updates', docs: [{ q: { _id }, u: { $setOnInsert: fields }, upsert: true }] })
}

type Scenario = { name: string; prepare: (i: number) => Buffer }
const scenarios: Scenario[] = [
  { name: 'insert event (3 indexes)', prepare: (i) => sendRequests(i, 'event') },
  { name: 'insert message (2 indexes)', prepare: (i) => sendRequests(i, 'insert') },
  { name: 'upsert message ($setOnInsert)', prepare: (i) => sendRequests(i, 'upsert') },
  {
    name: 'find latest seq (sort -1, limit 1, projection)',
    prepare: (i) => opMsg({ find: 'events', filter: { roomId: rooms[i % ROOMS] }, sort: { seq: -1 }, projection: { seq: 1 }, limit: 1, singleBatch: true, batchSize: 1, lsid, $db: 'bench' }),
  },
  {
    name: 'find after seq (20 events)',
    prepare: (i) => opMsg({ find: 'events', filter: { roomId: rooms[i % ROOMS], seq: { $gt: Math.max(0, (eventSeqs[i % ROOMS] ?? 0) - 20) } }, sort: { seq: 1 }, limit: 100, lsid, $db: 'bench' }),
  },
  { name: 'find one event by (roomId, seq)', prepare: (i) => opMsg({ find: 'events', filter: { roomId: rooms[i % ROOMS], seq: 1 + (i % 30) }, limit: 1, singleBatch: true, lsid, $db: 'bench' }) },
]

const cpuUs = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

setup()
// Fill every room with some history first, so reads have something to return.
for (let i = 0; i < ROOMS * 30; i++) execute(sendRequests(i, 'event'))
console.log(`node ${process.version}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${N} commands x ${ROUNDS} rounds${dataDir ? ', journaled' : ', in memory'}`)
const lines = ['| command | µs CPU (median) | min–max |', '| --- | ---: | ---: |']
let offset = 1_000_000
for (const s of scenarios.filter((x) => !values.only || x.name.includes(values.only))) {
  const results: number[] = []
  for (let r = 0; r < ROUNDS + 1; r++) {
    const requests = Array.from({ length: N }, (_, i) => s.prepare(offset + i))
    offset += N
    const t0 = cpuUs()
    for (const req of requests) execute(req)
    const us = (cpuUs() - t0) / N
    if (r > 0) results.push(us) // the first round warms up
  }
  const line = `| ${s.name} | ${median(results).toFixed(1)} | ${Math.min(...results).toFixed(1)}–${Math.max(...results).toFixed(1)} |`
  console.log(line)
  lines.push(line)
}
console.log('\n' + lines.join('\n'))
persistence?.close()
cursors.close()
if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true })
