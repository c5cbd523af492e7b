/**
 * `pnpm bench --reference socketio`: the load steps of the full benchmark
 * against the stack the throughput target was set by (issue #9: "about what
 * the seeds' own stack — Socket.IO + Redis adapter, persisting nothing —
 * reaches here"), measured on this machine the way Parley is: the same
 * redis-server on loopback, two nodes, the same population (users, rooms
 * and memberships), one socket per user, the open-loop schedule, latency at
 * every recipient from the intended send time, the same kind of load
 * generators (reference/socketio-worker.ts) and the same CPU accounting.
 * What it does not do is what Parley must: authenticate, validate,
 * rate-limit, persist, order and resume. `--reference socketio-mongo` adds
 * the persisting: one MongoDB insertOne per message before the broadcast.
 */
import { fork } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort } from '@parley/testing'
import { MongoClient } from 'mongodb'
import type { Options } from '../options.ts'
import { describeSource, ms, saturated, type BenchResult, type Percentiles } from '../report.ts'
import { mergedLatency, waitDrained } from '../step-figures.ts'
import { roomMemberLists } from '../setup.ts'
import { benchRoot, forkWorkers, machineCpu, procCpuSeconds, repoRoot, sourceRevision, startMongo, startRedisServer, stopChild, track, tsxLoader, type Mongo } from '../topology.ts'
import type { RefCommand, RefIntegrity, RefStepStats, RefUser } from './socketio-worker.ts'

const nowNs = () => Number(process.hrtime.bigint())

export interface ReferenceStep {
  step: number
  targetDeliveriesPerSec: number
  msgsSentPerSec: number
  acceptedPerSec: number
  deliveriesPerSec: number
  expected: number
  delivered: number
  errors: number
  latencyMs: Percentiles
  ackMs: Percentiles
  drainMs: number
  cores: { nodes: number; loadgen: number; redis: number; mongo: number }
  nodesCpuPer1kDeliveries: number
  machineBusyPct: number
}

async function startReferenceNode(redisUrl: string, mongoUrl: string | undefined): Promise<{ url: string; child: ReturnType<typeof fork> }> {
  const port = await freePort()
  const child = track(
    fork(path.join(benchRoot, 'src/reference/socketio-node.ts'), [], {
      execArgv: ['--import', tsxLoader],
      env: { ...process.env, PORT: String(port), REDIS_URL: redisUrl, MONGODB_URL: mongoUrl ?? '', NODE_ENV: 'production' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  )
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('Socket.IO node not ready after 30 s')), 30_000)
    child.once('message', () => {
      clearTimeout(t)
      resolve()
    })
    child.once('exit', (code) => reject(new Error(`Socket.IO node exited (${code})`)))
  })
  return { url: `http://127.0.0.1:${port}`, child }
}

export async function runSocketIoReference(opt: Options, log: (s: string) => void): Promise<number> {
  const outDir = path.resolve(opt.out || path.join(repoRoot, 'bench/results'))
  mkdirSync(outDir, { recursive: true })
  const startedAt = new Date()
  const loadavg = os.loadavg()
  const source = sourceRevision()
  const persist = opt.reference === 'socketio-mongo'
  log(`reference run (Socket.IO + Redis adapter, ${persist ? 'one MongoDB insert per message' : 'persisting nothing'}) of ${describeSource(source)} → ${path.relative(process.cwd(), outDir) || '.'}/${opt.name}.*  (load average ${loadavg.map((x) => x.toFixed(2)).join(' ')})`)

  const [{ redis, pid: redisPid }, mongo] = await Promise.all([startRedisServer(), persist ? startMongo() : Promise.resolve<Mongo | null>(null)])
  const nodes = await Promise.all([0, 1].map(() => startReferenceNode(redis.url, mongo?.url)))
  log(`redis ${redis.url}${mongo ? `, mongo ${mongo.shown}` : ''}; Socket.IO nodes ${nodes.map((n) => n.url).join(', ')}`)
  const { workers, all } = forkWorkers<RefCommand>(path.join(benchRoot, 'src/reference/socketio-worker.ts'), opt.workers)
  const failures: string[] = []
  try {
    // The full benchmark's population, without accounts: users alternate nodes, rooms by index.
    const memberLists = roomMemberLists(opt)
    const users: RefUser[] = Array.from({ length: opt.users }, (_, i) => ({ i, node: i % nodes.length, rooms: [] }))
    memberLists.forEach((members, r) => members.forEach((m) => users[m]!.rooms.push(r)))
    const roomSizes = memberLists.map((m) => m.length)
    const meanRoomSize = roomSizes.reduce((a, b) => a + b, 0) / roomSizes.length
    await all((w) => ({ t: 'init', init: { nodes: nodes.map((n) => n.url), roomSizes, users: users.filter((u) => u.i % opt.workers === w), localAddress: `127.0.0.${10 + w}`, bodyBytes: opt.bodyBytes } }))
    const conn = await all<{ connections: number; subscriptions: number }>({ t: 'connect' })
    log(`load: ${conn.reduce((a, c) => a + c.connections, 0)} connections, ${conn.reduce((a, c) => a + c.subscriptions, 0)} room memberships, mean room size ${meanRoomSize.toFixed(1)}`)

    const drain = (step: number, limitMs: number) => waitDrained(() => all<RefStepStats>({ t: 'stepStats', step, histograms: false }), limitMs)
    if (opt.warmupS > 0) {
      await all({ t: 'step', step: 0, rate: opt.steps[0]! / meanRoomSize / opt.workers, durationMs: opt.warmupS * 1000 })
      await drain(0, 10_000)
      log(`warm-up: ${opt.warmupS} s done`)
    }

    const pids = () => ({ nodes: nodes.map((n) => n.child.pid), gen: workers.map((w) => w.child.pid) })
    const cpu = () => {
      const p = pids()
      const sum = (xs: (number | undefined)[]) => xs.reduce<number>((a, pid) => a + procCpuSeconds(pid), 0)
      return { nodes: sum(p.nodes), gen: sum(p.gen), redis: procCpuSeconds(redisPid), mongo: procCpuSeconds(mongo?.pid), machine: machineCpu(), at: Date.now() }
    }
    const steps: ReferenceStep[] = []
    let stoppedEarly: string | null = null
    for (const [k, target] of opt.steps.entries()) {
      const step = k + 1
      const msgRate = target / meanRoomSize
      const before = cpu()
      const startNs = nowNs()
      await all({ t: 'step', step, rate: msgRate / opt.workers, durationMs: opt.durationS * 1000 })
      const drainLimitMs = Math.max(10_000, opt.durationS * 1000)
      const drainMs = await drain(step, drainLimitMs)
      const after = cpu()
      const stats = await all<RefStepStats>({ t: 'stepStats', step, histograms: true })
      const sum = (f: (s: RefStepStats) => number) => stats.reduce((a, s) => a + f(s), 0)
      const delivered = sum((s) => s.delivered)
      const expected = sum((s) => s.expected)
      const windowS = Math.max(opt.durationS, (Math.max(...stats.map((s) => s.lastDeliveryNs)) - startNs) / 1e9)
      const intervalS = (after.at - before.at) / 1000
      const machineTotal = after.machine.total - before.machine.total
      const r: ReferenceStep = {
        step,
        targetDeliveriesPerSec: target,
        msgsSentPerSec: sum((s) => s.sent) / opt.durationS,
        acceptedPerSec: sum((s) => s.acked) / windowS,
        deliveriesPerSec: delivered / windowS,
        expected,
        delivered,
        errors: sum((s) => s.errors),
        ...mergedLatency(stats),
        drainMs,
        cores: { nodes: (after.nodes - before.nodes) / intervalS, loadgen: (after.gen - before.gen) / intervalS, redis: (after.redis - before.redis) / intervalS, mongo: (after.mongo - before.mongo) / intervalS },
        nodesCpuPer1kDeliveries: delivered ? ((after.nodes - before.nodes) / delivered) * 1000 : 0,
        machineBusyPct: machineTotal ? ((after.machine.busy - before.machine.busy) / machineTotal) * 100 : 0,
      }
      steps.push(r)
      log(
        `step ${step}/${opt.steps.length} target ${target} deliv/s (${Math.round(msgRate)} msg/s): ${Math.round(r.acceptedPerSec)} msg/s acked, ${Math.round(r.deliveriesPerSec)} deliv/s, ` +
          `p50 ${r.latencyMs.p50.toFixed(1)} p99 ${r.latencyMs.p99.toFixed(1)} p99.9 ${r.latencyMs.p999.toFixed(1)} max ${r.latencyMs.max.toFixed(0)} ms, ack p99 ${r.ackMs.p99.toFixed(1)} ms, ` +
          `${delivered}/${expected} delivered, cores: nodes ${r.cores.nodes.toFixed(2)} load-gen ${r.cores.loadgen.toFixed(2)} redis ${r.cores.redis.toFixed(2)}${mongo ? ` mongo ${r.cores.mongo.toFixed(2)}` : ''}, machine ${Math.round(r.machineBusyPct)}%`,
      )
      if (r.errors) failures.push(`step ${step}: ${r.errors} sends on closed sockets`)
      stoppedEarly = saturated(step, delivered, expected, r.latencyMs.p99, drainLimitMs, opt.maxP99Ms)
      if (stoppedEarly) break
    }
    if (stoppedEarly) log(`stopping: ${stoppedEarly}`)

    const perWorker = await all<number[]>({ t: 'ackedByRoom' })
    const ackedByRoom = roomSizes.map((_, r) => perWorker.reduce((a, w) => a + w[r]!, 0))
    const integrity = (await all<RefIntegrity>({ t: 'verify', ackedByRoom })).reduce((a, b) => ({
      subscriptions: a.subscriptions + b.subscriptions,
      delivered: a.delivered + b.delivered,
      lost: a.lost + b.lost,
      duplicates: a.duplicates + b.duplicates,
      unexpectedCloses: a.unexpectedCloses + b.unexpectedCloses,
    }))
    log(`integrity: ${integrity.delivered} events at ${integrity.subscriptions} memberships, lost ${integrity.lost}, duplicates ${integrity.duplicates}, unexpected closes ${integrity.unexpectedCloses}`)
    if (integrity.lost || integrity.duplicates || integrity.unexpectedCloses) failures.push(`lost ${integrity.lost}, duplicates ${integrity.duplicates}, unexpected closes ${integrity.unexpectedCloses}`)

    // Persisting means every acknowledged message is in the database.
    let persisted: number | null = null
    if (mongo) {
      const client = await new MongoClient(mongo.url).connect()
      persisted = await client.db().collection('messages').countDocuments()
      await client.close()
      const acked = ackedByRoom.reduce((a, b) => a + b, 0)
      log(`persisted: ${persisted} messages in MongoDB for ${acked} acknowledged`)
      if (persisted < acked) failures.push(`${acked - persisted} acknowledged messages are not in MongoDB`)
    }

    const best = steps.filter((s) => s.latencyMs.p99 < 100).at(-1)
    const result = {
      kind: `reference-${opt.reference}`,
      persist,
      startedAt: startedAt.toISOString(),
      source,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '', memGiB: os.totalmem() / 2 ** 30, node: process.version, loadavgAtStart: loadavg },
      options: opt,
      population: { users: opt.users, rooms: roomSizes.length, memberships: roomSizes.reduce((a, b) => a + b, 0), meanRoomSize },
      steps,
      stoppedEarly,
      integrity,
      persisted,
      bestUnder100ms: best ? { deliveriesPerSec: best.deliveriesPerSec, p99Ms: best.latencyMs.p99 } : null,
      failures,
    }
    writeFileSync(path.join(outDir, `${opt.name}.json`), JSON.stringify(result, null, 2) + '\n')
    writeFileSync(path.join(outDir, `${opt.name}.md`), renderReference(result))
    log(`wrote ${path.join(outDir, `${opt.name}.{json,md}`)}`)
    log(best ? `best step with p99 < 100 ms: ${Math.round(best.deliveriesPerSec)} deliveries/s (p99 ${best.latencyMs.p99.toFixed(1)} ms)` : 'no step had p99 < 100 ms')
  } finally {
    await Promise.all(workers.map((w) => w.call({ t: 'exit' }).catch(() => {})))
    await Promise.all(nodes.map((n) => stopChild(n.child)))
    await redis.stop()
    await mongo?.stop()
  }
  for (const f of failures) log(`FAILED: ${f}`)
  return failures.length ? 1 : 0
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })

export function renderReference(r: { startedAt: string; source?: BenchResult['source']; persist?: boolean; machine: { cpus: number; model: string; node: string; loadavgAtStart: number[] }; population: { users: number; rooms: number; meanRoomSize: number }; steps: ReferenceStep[]; stoppedEarly: string | null; integrity: RefIntegrity }): string {
  const lines = [
    `# Reference: Socket.IO + Redis adapter, ${r.persist ? 'one MongoDB insert per message' : 'persisting nothing'}`,
    '',
    `Run: ${r.startedAt} — \`pnpm bench --reference ${r.persist ? 'socketio-mongo' : 'socketio'}\` on ${describeSource(r.source)}. Machine: ${r.machine.model}, ${r.machine.cpus} cores, Node ${r.machine.node}; load average at start ${r.machine.loadavgAtStart.map((x) => x.toFixed(2)).join(' / ')}.`,
    '',
    `Population: ${fmt(r.population.users)} users (one socket each, alternating between 2 nodes), ${r.population.rooms} rooms, mean room size ${r.population.meanRoomSize.toFixed(1)}.`,
    '',
    `| step | target deliv/s | sent msg/s | acked msg/s | deliveries/s | p50 ms | p99 ms | p99.9 ms | max ms | ack p50 ms | ack p99 ms | node CPU s / 1k deliv | cores used: nodes · load-gen · redis${r.persist ? ' · mongo' : ''} | machine busy |`,
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.steps.map(
      (s) =>
        `| ${s.step} | ${fmt(s.targetDeliveriesPerSec)} | ${fmt(s.msgsSentPerSec)} | ${fmt(s.acceptedPerSec)} | **${fmt(s.deliveriesPerSec)}** | ${ms(s.latencyMs.p50)} | **${ms(s.latencyMs.p99)}** | ${ms(s.latencyMs.p999)} | ${ms(s.latencyMs.max)} | ${ms(s.ackMs.p50)} | ${ms(s.ackMs.p99)} | ${s.nodesCpuPer1kDeliveries.toFixed(3)} | ${s.cores.nodes.toFixed(2)} · ${s.cores.loadgen.toFixed(2)} · ${s.cores.redis.toFixed(2)}${r.persist ? ` · ${s.cores.mongo.toFixed(2)}` : ''} | ${Math.round(s.machineBusyPct)}% |`,
    ),
    '',
    r.stoppedEarly ? `Stopped early: ${r.stoppedEarly}.` : 'Every step ran.',
    '',
    `Integrity: ${fmt(r.integrity.delivered)} events at ${fmt(r.integrity.subscriptions)} (recipient, room) pairs; lost ${r.integrity.lost}, duplicates ${r.integrity.duplicates}, unexpected closes ${r.integrity.unexpectedCloses} (Socket.IO events carry no seq: order is not checked).`,
    '',
  ]
  return lines.join('\n')
}
