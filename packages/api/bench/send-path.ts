// CPU cost of one `messages.send`, end to end minus the transport: the tRPC
// procedure (called in-process through a caller), its rate-limit check on
// Redis, the MongoDB write (the message.created event) through the real driver, and the publish. The
// embedded MongoDB server and redis-server run as child processes, as in
// `pnpm bench`, so each process's CPU is measured on its own:
//
//   pnpm --filter @parley/embedded-mongo exec node --import tsx ../api/bench/send-path.ts \
//     [--sends 4000] [--rounds 5] [--concurrency 1,16 | --rate 500,1500] [--mode send,repo,…] [--data] [--mongo-prof DIR]
//
// modes: send (the procedure), repo (messages.send in packages/db only),
// raw (the same insert as a bare driver call), after / latest (the event
// log's reads by index: 20 events of a room, a room's latest seq), ratelimit (only the
// rate-limit hit), publish (only bus.publish), noop (the harness alone: its timers
// and wake-ups, to subtract from the others).
// Reports, per mode and concurrency, the median over rounds of CPU µs per send
// for this process (node), the MongoDB process and redis-server.

import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createRedisBus, type Bus } from '@parley/bus'
import { connectDatabase, ObjectId, type Database, type MemberDoc, type RoomDoc, type UserDoc } from '@parley/db'
import { createCallerFactory } from '../src/trpc.ts'
import { messagesRouter } from '../src/routers/messages.ts'
import { createMembershipCache } from '../src/membership-cache.ts'
import { DEFAULT_LIMITS } from '../src/limits.ts'
import type { ApiDeps, Context } from '../src/context.ts'
import { publishRoomEvent } from '../src/access.ts'

const { values } = parseArgs({
  options: {
    sends: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '1,16' },
    /** Open loop instead: sends start at these rates (per second, Poisson arrivals), whatever is in flight. */
    rate: { type: 'string' },
    mode: { type: 'string', default: 'send' },
    rooms: { type: 'string', default: '200' },
    /** Write a V8 CPU profile of the MongoDB process into this directory. */
    'mongo-prof': { type: 'string' },
    /** Run the MongoDB process with a data directory (journal on), as in development; default in-memory like `pnpm bench`. */
    data: { type: 'boolean', default: false },
  },
})
const SENDS = Number(values.sends)
const ROUNDS = Number(values.rounds)
const OPEN_LOOP = values.rate !== undefined
const CONCURRENCY = (values.rate ?? values.concurrency).split(',').map(Number)
const MODES = values.mode.split(',')
const ROOMS = Number(values.rooms)

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const TICK_US = 1e6 / 100 // USER_HZ

function procCpuUs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * TICK_US // utime + stime
}

function selfCpuUs(): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

const children: ChildProcess[] = []
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})

const dataDir = values.data ? fs.mkdtempSync(path.join(os.tmpdir(), 'send-path-bench-')) : undefined
const data = dataDir ? ['--data', dataDir] : []

async function startMongo(): Promise<{ url: string; pid: number }> {
  const cwd = path.join(repoRoot, 'packages/embedded-mongo')
  const prof = values['mongo-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(values['mongo-prof'])] : []
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', 'src/cli.ts', '--port', '0', '--host', '127.0.0.1', ...data], { cwd, stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /mongodb:\/\/\S+/.exec(out)
      if (m) resolve(m[0])
    })
    child.once('exit', (code) => reject(new Error(`embedded-mongo exited with ${code}`)))
  })
  return { url, pid: child.pid! }
}

async function startRedis(): Promise<{ url: string; pid: number }> {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], { stdio: 'ignore' })
  children.push(child)
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) break
    await new Promise((r) => setTimeout(r, 25))
  }
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid! }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

async function main(): Promise<void> {
  const mongo = await startMongo()
  const redis = await startRedis()
  const database: Database = await connectDatabase({
    url: `${mongo.url}/parley_bench_send`,
    // As the server does: every round trip timed from the pool's events.
    onOperation: (_waitedMs, heldMs) => void (heldMs > 1e9 && console.log(heldMs)),
  })
  const bus: Bus = createRedisBus({ url: redis.url, nodeId: 'bench-send' })
  while (!bus.health().ok) await new Promise((r) => setTimeout(r, 20))

  const membership = createMembershipCache(3_600_000, bus)
  const users: UserDoc[] = Array.from({ length: 64 }, (_, i) => ({
    _id: new ObjectId(),
    username: `user${i}`,
    displayName: `User ${i}`,
    passwordHash: 'x',
    createdAt: new Date(),
  }))
  const rooms: RoomDoc[] = Array.from({ length: ROOMS }, (_, i) => ({
    _id: new ObjectId(),
    name: `room ${i}`,
    topic: null,
    visibility: 'public',
    ownerId: users[0]!._id,
    epoch: 'e',
    memberCount: users.length,
    createdAt: new Date(),
  }))
  const members: MemberDoc[] = []
  for (const room of rooms) {
    for (const user of users) {
      const member: MemberDoc = { _id: new ObjectId(), roomId: room._id, userId: user._id, role: 'member', lastReadSeq: 0, joinedAt: new Date() }
      membership.set(room, member, membership.stamp())
      members.push(member)
    }
  }
  // Stored too, as on a server: the bus's 30-s safety-net resync empties the
  // membership cache, and the sends after it read their membership again.
  await database.collections.rooms.insertMany(rooms)
  await database.collections.members.insertMany(members)
  const deps = {
    database,
    bus,
    // Not on the send path.
    auth: {} as ApiDeps['auth'],
    roomHub: {} as ApiDeps['roomHub'],
    userHub: {} as ApiDeps['userHub'],
    limits: { ...DEFAULT_LIMITS, sendPerWindow: 1_000_000_000, sendWindowMs: 10_000 },
    membership,
    nodeId: 'bench-send',
    version: 'bench',
    log: { info() {}, warn() {}, error() {} },
  } satisfies ApiDeps
  const createCaller = createCallerFactory(messagesRouter)
  const callers = users.map((user) => {
    const ctx: Context = {
      deps,
      transport: 'ws',
      req: {} as Context['req'],
      setCookie: null,
      session: { user, session: {} as never },
      ip: '127.0.0.1',
      conn: { subscriptions: 0 },
    }
    return { user, ctx, caller: createCaller(ctx) }
  })

  const body = 'hello there — a message of ordinary length, about sixty chars'
  let counter = 0
  const ops: Record<string, (i: number) => Promise<unknown>> = {
    send: (i) => {
      const c = callers[i % callers.length]!
      return c.caller.send({ roomId: rooms[i % ROOMS]!._id.toHexString(), clientId: `c${counter++}`, body })
    },
    repo: (i) => {
      const c = callers[i % callers.length]!
      return database.repos.messages.send({
        roomId: rooms[i % ROOMS]!._id,
        author: { id: c.user._id.toHexString(), username: c.user.username, displayName: c.user.displayName },
        clientId: `c${counter++}`,
        body,
      })
    },
    // The write of a send as a bare driver call (no event log, no repository).
    raw: async (i) => {
      const c = callers[i % callers.length]!
      const roomId = rooms[i % ROOMS]!._id
      const seq = 1_000_000 + counter++
      const author = { id: c.user._id.toHexString(), username: c.user.username, displayName: c.user.displayName }
      const message = { id: new ObjectId().toHexString(), roomId: roomId.toHexString(), seq, author, body, createdAt: new Date().toISOString(), editedAt: null, deleted: false, clientId: `c${seq}`, reactions: [] }
      await database.collections.events.insertOne({ _id: new ObjectId(message.id), roomId, seq, data: { type: 'message.created', roomId: message.roomId, seq, message }, createdAt: new Date(), authorId: c.user._id, clientId: message.clientId })
    },
    noop: async () => {},
    // Reads by index the log serves: catching up (`after`) and the latest seq of a room.
    after: (i) => database.repos.events.after(rooms[i % ROOMS]!._id, 0, 20),
    latest: (i) => database.repos.events.latestSeq(rooms[i % ROOMS]!._id),
    ratelimit: (i) => bus.rateLimiter.hit(`send:${callers[i % callers.length]!.user._id.toHexString()}`, 1e9, 10_000),
    publish: async (i) => {
      const c = callers[i % callers.length]!
      const seq = counter++
      publishRoomEvent(c.ctx, {
        _id: new ObjectId(),
        roomId: rooms[i % ROOMS]!._id,
        seq,
        createdAt: new Date(),
        data: { type: 'message.created', roomId: rooms[i % ROOMS]!._id.toHexString(), seq, message: { id: 'x', roomId: 'y', seq, author: { id: 'a', username: 'u', displayName: 'U' }, body, createdAt: new Date().toISOString(), editedAt: null, deleted: false, clientId: 'c', reactions: [] } },
      })
      await new Promise<void>((r) => setImmediate(r))
    },
  }

  async function run(op: (i: number) => Promise<unknown>, n: number, concurrency: number): Promise<void> {
    if (OPEN_LOOP) return openLoop(op, n, concurrency)
    let next = 0
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) await op(next++)
      }),
    )
  }

  /** `rate` sends per second with exponential gaps, each started from its own macrotask (as sends arriving on separate sockets would be). */
  async function openLoop(op: (i: number) => Promise<unknown>, n: number, rate: number): Promise<void> {
    const start = performance.now()
    let due = 0
    const running: Promise<unknown>[] = []
    for (let i = 0; i < n; i++) {
      due += (-Math.log(1 - Math.random()) * 1000) / rate
      const wait = start + due - performance.now()
      // Never two arrivals in one macrotask: that would hand the batching a group for free.
      await new Promise((r) => (wait > 1 ? setTimeout(r, wait) : setImmediate(r)))
      running.push(op(i))
    }
    await Promise.all(running)
  }

  console.log(`node ${process.version}, ${os.cpus().length} cpus, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${SENDS} sends x ${ROUNDS} rounds`)
  const table: string[] = [`| mode | ${OPEN_LOOP ? 'msg/s' : 'conc'} | node µs/send | mongo µs/send | redis µs/send | wall µs/send |`, '| --- | ---: | ---: | ---: | ---: | ---: |']
  for (const mode of MODES) {
    const op = ops[mode]
    if (!op) throw new Error(`unknown mode ${mode}`)
    for (const concurrency of CONCURRENCY) {
      await run(op, Math.min(2000, SENDS), concurrency) // warm-up
      const node: number[] = []
      const mongoCpu: number[] = []
      const redisCpu: number[] = []
      const wall: number[] = []
      for (let r = 0; r < ROUNDS; r++) {
        global.gc?.()
        const [n0, m0, r0, t0] = [selfCpuUs(), procCpuUs(mongo.pid), procCpuUs(redis.pid), performance.now()]
        await run(op, SENDS, concurrency)
        const [n1, m1, r1, t1] = [selfCpuUs(), procCpuUs(mongo.pid), procCpuUs(redis.pid), performance.now()]
        node.push((n1 - n0) / SENDS)
        mongoCpu.push((m1 - m0) / SENDS)
        redisCpu.push((r1 - r0) / SENDS)
        wall.push(((t1 - t0) * 1000) / SENDS)
      }
      const fmt = (xs: number[]) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`
      const line = `| ${mode} | ${concurrency} | ${fmt(node)} | ${fmt(mongoCpu)} | ${fmt(redisCpu)} | ${median(wall).toFixed(0)} |`
      console.log(line)
      table.push(line)
    }
  }
  console.log('\n' + table.join('\n'))
  await bus.close()
  await database.close()
  await Promise.all(children.map((c) => new Promise((resolve) => {
    c.once('exit', resolve)
    c.kill('SIGTERM')
  })))
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true })
}

await main()
