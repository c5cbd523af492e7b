/**
 * What does the load generator spend per received delivery? (The generators
 * share the cores with the servers they measure, so this must stay small.)
 *
 *   node --import tsx src/receive-microbench.ts [options]
 *
 * Default ("parse"): N realistic `events.room` delivery frames — WebSocket
 * frame bytes of `message.created` events with a bench-stamped body, spread
 * over 1,000 connections × 2 subscriptions — are fed, in process, through the
 * generator's whole receive path: WebSocket framing, the tRPC frame reader,
 * seq tracking, latency recording (conn.ts → frames.ts → recorder.ts). Prints
 * µs of CPU per frame.
 *
 * --socket: the same over real loopback WebSockets: a child process serves
 * the subscriptions (with `ws`) and pushes frames at --rate per second; the
 * figure is this process's CPU (user + system, so reads and wake-ups count)
 * per delivery, and the sending child's (its writes, which on loopback also
 * carry the kernel's receive path): together, what moving one frame from a
 * server to a client costs on this machine before any chat logic. Closer to
 * the real thing; noisier on a shared machine.
 *
 * --baseline: the receive path as it was before (the `ws` client, a
 * `toString` and a `JSON.parse` per frame, an HdrHistogram recordValue per
 * delivery), for comparison.
 *
 * Options: --frames N (parse: 200000) --order trpc|server (tRPC's key order
 * or the hand-built one, see frames.ts) --per-read K (frames per socket read,
 * parse: 1) --rate R (socket: 20000/s) --seconds S (socket: 5) --conns C (1000)
 * --runs R (parse: 5) --sender ws|frame (socket: the child writes with
 * ws.send, or one prebuilt frame buffer per delivery as the server's gateway).
 */
import { fork } from 'node:child_process'
import type { Socket } from 'node:net'
import { parseArgs } from 'node:util'
import hdr from 'hdr-histogram-js'
import * as wsModule from 'ws'
import { WebSocket, WebSocketServer } from 'ws'
import { Conn } from './conn.ts'
import { procCpuSeconds } from './topology.ts'
import { newTrack, nowNs, Recorder, type Track } from './recorder.ts'
import { trackSeq } from './tracker.ts'

const { values: opt } = parseArgs({
  options: {
    frames: { type: 'string', default: '200000' },
    order: { type: 'string', default: 'trpc' },
    'per-read': { type: 'string', default: '1' },
    socket: { type: 'boolean', default: false },
    baseline: { type: 'boolean', default: false },
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '5' },
    conns: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '5' },
    /** --socket: how the child writes: `ws` (ws.send) or `frame` (one prebuilt buffer per frame on the raw socket, as the server's gateway does). */
    sender: { type: 'string', default: 'ws' },
    serve: { type: 'boolean', default: false }, // internal: the --socket child
  },
})

const hex = (n: number) => n.toString(16).padStart(24, '0')
const createdAt = new Date().toISOString()

/** One delivery frame's JSON, as the server sends it. */
function frameJson(subId: number, room: number, seq: number, k: number, intendedNs: number, order: string): string {
  const head = `1:${intendedNs}:${k % 2}:`
  const body = head + 'x'.repeat(Math.max(0, 100 - head.length))
  const user = k % 1000
  const event = {
    type: 'message.created',
    roomId: hex(room),
    seq,
    message: { id: hex(1e6 + k), roomId: hex(room), seq, author: { id: hex(5000 + user), username: `bq1w2e3_${user}`, displayName: `bq1w2e3_${user}` }, body, createdAt, editedAt: null, deleted: false, clientId: `w0-${k}`, reactions: [] },
  }
  const id = String(seq)
  const result = order === 'trpc' ? { type: 'data', data: { id, data: event }, id } : { type: 'data', id, data: { id, data: event } }
  return JSON.stringify({ id: subId, result })
}

function wsFrame(payload: Buffer): Buffer {
  const n = payload.length
  const head = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.from([0x81, 126, n >> 8, n & 255]) : Buffer.from([0x81, 127, 0, 0, 0, 0, n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255])
  return Buffer.concat([head, payload])
}

// ---------- the pre-change receive path, for --baseline ----------

/** ws's frame parser (exported by the package, not declared by @types/ws). */
const { Receiver } = wsModule as unknown as {
  Receiver: new (opts: { isServer: boolean; allowSynchronousEvents: boolean }) => { write(chunk: Buffer): void; on(event: 'message', f: (data: Buffer) => void): void }
}

/** The old worker's accounting: JSON-parsed event, Number() of the stamp parts, HdrHistogram recordValue per delivery. */
class LegacyRecorder {
  readonly steps = new Map<number, { delivered: number; crossNode: number; lastDeliveryNs: number; latency: ReturnType<typeof hdr.build> }>()
  onEvent(t: Track, id: string | undefined, data: unknown): void {
    const e = data as { type?: string; seq?: number; message?: { body?: string } }
    if (e.type === 'reset') {
      t.resets++
      if (typeof e.seq === 'number') t.last = Math.max(t.last, e.seq)
      return
    }
    if (id === undefined) return
    trackSeq(t, Number(id))
    t.delivered++
    if (e.type === 'message.created' && e.message?.body) {
      const body = e.message.body
      const a = body.indexOf(':')
      const b = body.indexOf(':', a + 1)
      const c = body.indexOf(':', b + 1)
      if (a > 0 && b > a && c > b) {
        const step = Number(body.slice(0, a))
        const intended = Number(body.slice(a + 1, b))
        const senderNode = Number(body.slice(b + 1, c))
        let s = this.steps.get(step)
        if (!s) this.steps.set(step, (s = { delivered: 0, crossNode: 0, lastDeliveryNs: 0, latency: hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 }) }))
        s.delivered++
        if (senderNode !== t.node) s.crossNode++
        const now = nowNs()
        s.lastDeliveryNs = now
        s.latency.recordValue(Math.max(1, Math.round((now - intended) / 1000)))
      }
    }
  }
}

/** The old Conn's message handler: a string per frame, JSON.parse, dispatch by id. */
function legacyOnMessage(subs: Map<number, (id: string | undefined, data: unknown) => void>, raw: Buffer): void {
  const text = raw.toString('utf8')
  if (text === 'PING' || text === 'PONG') return
  let msg: { id: number | null; result?: { type: string; id?: string; data?: unknown } }
  try {
    msg = JSON.parse(text)
  } catch {
    return
  }
  if (msg.id == null) return
  const sub = subs.get(msg.id)
  const r = msg.result
  if (!sub || !r || r.type !== 'data') return
  if (r.id !== undefined) sub(r.id, (r.data as { data: unknown }).data)
  else sub(undefined, r.data)
}

// ---------- parse: in process ----------

function parseBench(): void {
  const conns = Number(opt.conns)
  const perRead = Math.max(1, Number(opt['per-read']))
  const n = Number(opt.frames)
  const rooms = 200
  const rec = new Recorder()
  const legacy = new LegacyRecorder()
  const tracks: Track[] = []
  // Connection c is in rooms c % 200 and (7c + 3) % 200; subscription ids 1 and 2 on each.
  const members: { conn: number; sub: number; track: Track }[][] = Array.from({ length: rooms }, () => [])
  const sinks: ((wire: Buffer, s: number, e: number) => void)[] = []
  for (let c = 0; c < conns; c++) {
    const subs = new Map<number, (id: string | undefined, data: unknown) => void>()
    const conn = Conn.detached(() => {})
    for (const room of [c % rooms, (c * 7 + 3) % rooms]) {
      const t = newTrack(room, c % 2, 0)
      tracks.push(t)
      const sub = opt.baseline
        ? subs.size + 1
        : conn.subscribe('events.room', { roomId: hex(room) }, { onStarted() {}, onData: (m) => rec.onEvent(t, m), onError() {}, onStopped() {} })
      subs.set(sub, (id, data) => legacy.onEvent(t, id, data))
      members[room]!.push({ conn: c, sub, track: t })
    }
    if (opt.baseline) {
      const receiver = new Receiver({ isServer: false, allowSynchronousEvents: true })
      receiver.on('message', (raw: Buffer) => legacyOnMessage(subs, raw))
      sinks.push((wire, s, e) => receiver.write(wire.subarray(s, e)))
    } else sinks.push((wire, s, e) => conn.receive(wire, s, e))
  }
  // Frames per room in seq order, each room's message to all its members; `perRead` consecutive frames of a connection share one read.
  const reads: { conn: number; s: number; e: number }[] = []
  const parts: Buffer[] = []
  let bytes = 0
  const seqs = new Array<number>(rooms).fill(0)
  const queued = new Map<number, Buffer[]>()
  const base = nowNs()
  const flush = (c: number) => {
    const q = queued.get(c)!
    const wire = Buffer.concat(q)
    reads.push({ conn: c, s: bytes, e: bytes + wire.length })
    parts.push(wire)
    bytes += wire.length
    queued.delete(c)
  }
  let frames = 0
  for (let k = 0; frames < n; k++) {
    const room = k % rooms
    const seq = ++seqs[room]!
    for (const m of members[room]!) {
      const q = queued.get(m.conn) ?? []
      q.push(wsFrame(Buffer.from(frameJson(m.sub, room, seq, k, base - 3_000_000 - (k % 5000) * 1000, opt.order!))))
      queued.set(m.conn, q)
      frames++
      if (q.length >= perRead) flush(m.conn)
    }
  }
  for (const c of [...queued.keys()]) flush(c)
  const wire = Buffer.concat(parts)
  console.log(`${opt.baseline ? 'baseline (ws Receiver + JSON.parse + recordValue)' : 'conn.ts + frames.ts + recorder.ts'}: ${frames} frames of ~${Math.round(wire.length / frames)} B, ${opt.order} key order, ${perRead} per read`)
  const runs = Number(opt.runs)
  const results: number[] = []
  for (let r = 0; r < runs; r++) {
    // Every run after the first repeats the seqs: duplicates, which cost the same to account.
    const c0 = process.cpuUsage()
    for (const rd of reads) sinks[rd.conn]!(wire, rd.s, rd.e)
    const c = process.cpuUsage(c0)
    results.push((c.user + c.system) / frames)
  }
  const delivered = opt.baseline ? [...legacy.steps.values()].reduce((a, s) => a + s.delivered, 0) : [...rec.steps.values()].reduce((a, s) => a + s.delivered, 0)
  if (delivered !== frames * runs) throw new Error(`recorded ${delivered} deliveries, expected ${frames * runs}`)
  console.log(`µs CPU per frame, run by run: ${results.map((x) => x.toFixed(2)).join(' ')}; best ${Math.min(...results).toFixed(2)}`)
}

// ---------- socket: loopback ----------

/** The child: a ws server answering subscriptions and pushing frames at a rate. */
function serve(): void {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false })
  const subs: { ws: WebSocket; id: number; seq: number }[] = []
  wss.on('connection', (ws) => {
    ws.on('message', (raw: Buffer) => {
      const m = JSON.parse(raw.toString()) as { id: number; method: string }
      if (m.method !== 'subscription') return
      subs.push({ ws, id: m.id, seq: 0 })
      ws.send(JSON.stringify({ id: m.id, result: { type: 'started' } }))
    })
  })
  wss.on('listening', () => process.send!({ port: (wss.address() as { port: number }).port }))
  process.on('message', (cmd: { rate: number; total: number; order: string; sender: string }) => {
    const t0 = Date.now()
    let sent = 0
    const tick = () => {
      const due = Math.min(cmd.total, Math.floor(((Date.now() - t0) * cmd.rate) / 1000))
      for (; sent < due; sent++) {
        const s = subs[sent % subs.length]!
        const json = frameJson(s.id, sent % 200, ++s.seq, sent, nowNs(), cmd.order)
        if (cmd.sender === 'frame') (s.ws as unknown as { _socket: Socket })._socket.write(wsFrame(Buffer.from(json)))
        else s.ws.send(json)
      }
      if (sent < cmd.total) setTimeout(tick, 1)
    }
    tick()
  })
}

async function socketBench(): Promise<void> {
  const rate = Number(opt.rate)
  const total = Math.round(rate * Number(opt.seconds))
  const child = fork(new URL(import.meta.url).pathname, ['--serve'], { execArgv: process.execArgv })
  const { port } = await new Promise<{ port: number }>((resolve) => child.once('message', resolve as (m: unknown) => void))
  const url = `http://127.0.0.1:${port}`
  const rec = new Recorder()
  const legacy = new LegacyRecorder()
  const tracks: Track[] = []
  let started = 0
  const want = Number(opt.conns) * 2
  for (let c = 0; c < Number(opt.conns); c++) {
    if (opt.baseline) {
      const ws = new WebSocket(url.replace('http', 'ws'), { perMessageDeflate: false })
      const subs = new Map<number, (id: string | undefined, data: unknown) => void>()
      ws.on('message', (raw: Buffer) => {
        if (raw.toString().includes('"started"')) started++
        else legacyOnMessage(subs, raw)
      })
      await new Promise((resolve) => ws.once('open', resolve))
      for (const id of [1, 2]) {
        const t = newTrack(id, c % 2, 0)
        tracks.push(t)
        subs.set(id, (tid, data) => legacy.onEvent(t, tid, data))
        ws.send(JSON.stringify({ id, method: 'subscription', params: { path: 'events.room', input: { roomId: hex(id) } } }))
      }
    } else {
      const conn = new Conn(url, '', undefined)
      await conn.open()
      for (const id of [1, 2]) {
        const t = newTrack(id, c % 2, 0)
        tracks.push(t)
        conn.subscribe('events.room', { roomId: hex(id) }, { onStarted: () => started++, onData: (m) => rec.onEvent(t, m), onError() {}, onStopped() {} })
      }
    }
  }
  while (started < want) await new Promise((r) => setTimeout(r, 50))
  await new Promise((r) => setTimeout(r, 500))
  const delivered = () => (opt.baseline ? legacy.steps : rec.steps).get(1)?.delivered ?? 0
  const c0 = process.cpuUsage()
  const s0 = procCpuSeconds(child.pid)
  const t0 = Date.now()
  child.send({ rate, total, order: opt.order, sender: opt.sender })
  while (delivered() < total && Date.now() - t0 < Number(opt.seconds) * 1000 + 30_000) await new Promise((r) => setTimeout(r, 20))
  const c = process.cpuUsage(c0)
  const senderUs = (procCpuSeconds(child.pid) - s0) * 1e6
  const got = delivered()
  const lost = tracks.reduce((a, t) => a + (t.missing?.size ?? 0) + t.duplicates + t.outOfOrder, 0)
  console.log(
    `${opt.baseline ? 'baseline (ws client + JSON.parse + recordValue)' : 'conn.ts + frames.ts + recorder.ts'}, loopback, ${opt.conns} connections, ${rate}/s: ` +
      `${got} deliveries in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${((c.user + c.system) / got).toFixed(2)} µs CPU per delivery (user ${(c.user / got).toFixed(2)}, system ${(c.system / got).toFixed(2)}); ` +
      `the sending process (${opt.sender === 'frame' ? 'prebuilt frames' : 'ws.send'}): ${(senderUs / got).toFixed(2)} µs per delivery` +
      `${lost ? `; ${lost} gaps/duplicates!` : ''}`,
  )
  child.kill()
  process.exit(0)
}

if (opt.serve) serve()
else if (opt.socket) await socketBench()
else parseBench()
