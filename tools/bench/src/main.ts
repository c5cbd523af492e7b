/**
 * `pnpm bench`: Parley's end-to-end benchmark (issue #9). See USAGE in
 * options.ts and docs/performance.md. Everything runs on loopback:
 * redis-server, one embedded MongoDB, two Parley nodes from the production
 * build, and forked load-generator processes (worker.ts).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseOptions, type Options } from './options.ts'
import type { Command, Integrity, StepStats, StormStatus } from './protocol.ts'
import { mergedLatency, waitDrained } from './step-figures.ts'
import { describeSource, renderMarkdown, saturated, renderSvg, type BenchResult, type CapacityResult, type StepResult, type StormResult, type Target } from './report.ts'
import { createPopulation, roomSeqs, type Population } from './setup.ts'
import {
  BENCH_NODE_ENV,
  benchRoot,
  ensureBuild,
  forkWorkers,
  killNode,
  listenOverflows,
  machineCpu,
  procCpuSeconds,
  repoRoot,
  sourceRevision,
  scrape,
  serverMain,
  startMongo,
  startNode,
  startRedisServer,
  stopNode,
  type ParleyNode,
} from './topology.ts'
import { summariseProfiles } from './profile.ts'
import { InspectorProfiler } from './inspector.ts'
import { runSocketIoReference } from './reference/socketio.ts'
import { runBrowser, type BrowserResult } from './browser.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const nowNs = () => Number(process.hrtime.bigint())
const KiB = 1024
const MiB = 1024 * KiB
const t0 = Date.now()
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`
const log = (s: string) => process.stdout.write(`[bench ${elapsed()}] ${s}\n`)



/** Worst latency (ms) of the messages whose intended send fell in each second of the step, over all generators. */
function worstBySecond(stats: StepStats[], startNs: number, durationS: number): number[] {
  const first = Math.floor(startNs / 1e9)
  const worst = Array.from({ length: Math.ceil(durationS) + 1 }, () => 0)
  for (const s of stats)
    for (const [second, us] of Object.entries(s.worstBySecond)) {
      const i = Number(second) - first
      if (i >= 0 && i < worst.length) worst[i] = Math.max(worst[i]!, us / 1000)
    }
  return worst
}

const sumIntegrity = (xs: Integrity[]): Integrity =>
  xs.reduce(
    (a, b) => ({
      subscriptions: a.subscriptions + b.subscriptions,
      delivered: a.delivered + b.delivered,
      lost: a.lost + b.lost,
      duplicates: a.duplicates + b.duplicates,
      outOfOrder: a.outOfOrder + b.outOfOrder,
      resets: a.resets + b.resets,
      ahead: a.ahead + b.ahead,
      subscriptionErrors: a.subscriptionErrors + b.subscriptionErrors,
      unexpectedCloses: a.unexpectedCloses + b.unexpectedCloses,
    }),
    { subscriptions: 0, delivered: 0, lost: 0, duplicates: 0, outOfOrder: 0, resets: 0, ahead: 0, subscriptionErrors: 0, unexpectedCloses: 0 },
  )

const integrityBad = (i: Integrity) => i.lost + i.duplicates + i.outOfOrder + i.resets + i.ahead > 0

async function main(): Promise<number> {
  const opt = parseOptions(process.argv.slice(2))
  if (opt.reference) return runSocketIoReference(opt, log)
  const outDir = path.resolve(opt.out || path.join(repoRoot, 'bench/results'))
  mkdirSync(outDir, { recursive: true })
  const startedAt = new Date()
  const failures: string[] = []
  const notes: string[] = []
  const loadavgAtStart = os.loadavg()
  const source = sourceRevision()
  log(`${opt.smoke ? 'smoke' : 'full'} run of ${describeSource(source)} → ${path.relative(process.cwd(), outDir) || '.'}/${opt.name}.*  (load average ${loadavgAtStart.map((x) => x.toFixed(2)).join(' ')})`)

  ensureBuild(log, { web: opt.browser > 0 })

  // ---- topology ----
  const [{ redis, pid: redisPid }, mongo] = await Promise.all([startRedisServer(), startMongo()])
  log(`redis ${redis.url}, mongo ${mongo.shown}`)
  const profDir = opt.cpuProf ? path.join(outDir, 'profiles', startedAt.toISOString().replace(/[:.]/g, '-')) : undefined
  if (profDir) {
    // The profile's line numbers refer to this build: keep a copy (others may rebuild dist meanwhile).
    mkdirSync(profDir, { recursive: true })
    copyFileSync(serverMain, path.join(profDir, 'main.js'))
  }
  const nodes: ParleyNode[] = await Promise.all(['bench-a', 'bench-b'].map((id) => startNode({ id, mongoUrl: mongo.url, redisUrl: redis.url, inspect: !!profDir || (id === 'bench-a' && opt.capacity > 0) })))
  log(`nodes ${nodes.map((n) => `${n.id} ${n.url}`).join(', ')}`)
  const crashed = () => nodes.filter((n) => n.exit && !n.exit.expected)
  const checkCrash = (phase: string) => {
    for (const n of crashed()) {
      const msg = `node ${n.id} exited unexpectedly during ${phase} (${n.exit!.code ?? n.exit!.signal}): ${n.stderrTail.slice(-500)}`
      if (!failures.includes(msg)) failures.push(msg)
    }
    if (crashed().length) throw new Error(failures.at(-1))
  }

  const { workers, all } = forkWorkers<Command>(path.join(benchRoot, 'src/worker.ts'), opt.workers)

  let result: BenchResult | null = null
  try {
    // ---- population ----
    const setupStart = Date.now()
    let lastShown = 0
    const runId = Date.now().toString(36).slice(-6)
    const pop: Population = await createPopulation({
      users: opt.users,
      smallRooms: opt.smallRooms,
      smallMin: opt.smallMin,
      smallMax: opt.smallMax,
      bigRooms: opt.bigRooms,
      bigSize: opt.bigSize,
      nodes: nodes.map((n) => n.url),
      runId,
      concurrency: opt.setupConcurrency,
      progress: (what, done, total) => {
        if (done === total || Date.now() - lastShown > 2000) {
          lastShown = Date.now()
          log(`setup ${what} ${done}/${total}`)
        }
      },
    })
    const setupS = (Date.now() - setupStart) / 1000
    const memberships = pop.users.reduce((a, u) => a + u.rooms.length, 0)
    const meanRoomSize = memberships / pop.rooms.length
    log(`setup done in ${setupS.toFixed(1)} s: ${pop.users.length} users, ${pop.rooms.length} rooms, ${memberships} memberships, mean room size ${meanRoomSize.toFixed(1)}`)
    checkCrash('setup')

    // ---- what a person sees: two people in Chromium on node A, the server otherwise quiet ----
    let browser: BrowserResult | null = null
    if (opt.browser > 0) {
      browser = await runBrowser(nodes[0]!, { samples: opt.browser, backlog: opt.browserBacklog, gapMs: 250 }, log)
      checkCrash('browser')
    }

    // Each worker owns every W-th user (users alternate nodes, so each worker has users on both).
    await all((w) => ({
      t: 'init',
      init: {
        workerIndex: w,
        nodes: nodes.map((n) => n.url),
        rooms: pop.rooms,
        users: pop.users.filter((u) => u.i % opt.workers === w),
        localAddress: `127.0.0.${10 + w}`,
        bodyBytes: opt.bodyBytes,
        readMarkers: opt.readMarkers,
      },
    }))

    // ---- capacity: idle then subscribed connections on node A, RSS per connection ----
    let capacity: CapacityResult | null = null
    if (opt.capacity > 0) capacity = await runCapacity(opt, nodes[0]!, all, log, profDir)
    checkCrash('capacity')

    // ---- load steps ----
    const startSeqs = await roomSeqs(nodes[0]!.url, pop)
    const conn = await all<{ connections: number; subscriptions: number }>({ t: 'connect', startSeqs })
    log(`load: ${conn.reduce((a, c) => a + c.connections, 0)} connections, ${conn.reduce((a, c) => a + c.subscriptions, 0)} subscriptions across ${nodes.length} nodes`)
    if (opt.warmupS > 0) {
      // Step 0: not reported (its messages still count for integrity).
      await all({ t: 'step', step: 0, rate: opt.steps[0]! / meanRoomSize / opt.workers, durationMs: opt.warmupS * 1000 })
      await waitDrained(() => all<StepStats>({ t: 'stepStats', step: 0, histograms: false }), 10_000)
      log(`warm-up: ${opt.warmupS} s done`)
    }
    const steps: StepResult[] = []
    let stoppedEarly: string | null = null
    let profilers: InspectorProfiler[] = []
    if (profDir) {
      mkdirSync(profDir, { recursive: true })
      profilers = await Promise.all(nodes.map((n) => InspectorProfiler.connect(n.inspectorUrl!)))
      await Promise.all(profilers.map((p) => p.start()))
      log('cpu profiler started on both nodes (load steps only)')
    }
    const pids = { mongo: mongo.pid, redis: redisPid }
    const genCpu = (): number => workers.reduce<number>((a, w) => a + procCpuSeconds(w.child.pid), 0)
    /** CPU-seconds so far of `node` (when given), MongoDB, Redis, the load generators, and the machine's jiffies. */
    const cpuOf = (node?: ParleyNode): CpuSample => ({ node: node ? procCpuSeconds(node.child.pid) : 0, mongo: procCpuSeconds(pids.mongo), redis: procCpuSeconds(pids.redis), gen: genCpu(), machine: machineCpu(), at: Date.now() })
    for (const [k, target] of opt.steps.entries()) {
      const step = k + 1
      const msgRate = target / meanRoomSize
      const before = await Promise.all(nodes.map(scrape))
      const cpuBefore = cpuOf() // the nodes' CPU comes from their /metrics
      const startNs = nowNs()
      await all({ t: 'step', step, rate: msgRate / opt.workers, durationMs: opt.durationS * 1000 })
      const drainLimitMs = Math.max(10_000, opt.durationS * 1000)
      const drainMs = await waitDrained(() => all<StepStats>({ t: 'stepStats', step, histograms: false }), drainLimitMs, () => crashed().length > 0)
      const stats = await all<StepStats>({ t: 'stepStats', step })
      checkCrash(`step ${step}`)
      const after = await Promise.all(nodes.map(scrape))
      const cpuAfter = cpuOf() // the nodes' CPU comes from their /metrics
      const sum = (f: (s: StepStats) => number) => stats.reduce((a, s) => a + f(s), 0)
      const errors: Record<string, number> = {}
      for (const s of stats) for (const [c, n] of Object.entries(s.errors)) errors[c] = (errors[c] ?? 0) + n
      const delivered = sum((s) => s.delivered)
      const expected = sum((s) => s.expected)
      // Deliveries still arriving after the schedule ended count against the rate: the window runs to the last one.
      const windowS = Math.max(opt.durationS, (Math.max(...stats.map((s) => s.lastDeliveryNs)) - startNs) / 1e9)
      const nodesCpu = after.reduce((a, m, i) => a + (m.get('process_cpu_seconds_total') ?? 0) - (before[i]!.get('process_cpu_seconds_total') ?? 0), 0)
      const mach = { busy: cpuAfter.machine.busy - cpuBefore.machine.busy, total: cpuAfter.machine.total - cpuBefore.machine.total }
      const r: StepResult = {
        step,
        targetDeliveriesPerSec: target,
        targetMsgsPerSec: msgRate,
        durationS: opt.durationS,
        sent: sum((s) => s.sent),
        acked: sum((s) => s.acked),
        errors,
        msgsSentPerSec: sum((s) => s.sent) / opt.durationS,
        acceptedPerSec: sum((s) => s.acked) / windowS,
        ...(opt.readMarkers ? { markersPerSec: sum((s) => s.markers) / windowS } : {}),
        expectedDeliveries: expected,
        delivered,
        deliveriesPerSec: delivered / windowS,
        crossNodeShare: delivered ? sum((s) => s.crossNode) / delivered : 0,
        ...mergedLatency(stats),
        worstMsBySecond: worstBySecond(stats, startNs, opt.durationS),
        drainMs,
        cpu: {
          nodesSeconds: nodesCpu,
          nodesPer1kDeliveries: delivered ? (nodesCpu / delivered) * 1000 : 0,
          mongoSeconds: cpuAfter.mongo - cpuBefore.mongo,
          redisSeconds: cpuAfter.redis - cpuBefore.redis,
          loadgenSeconds: cpuAfter.gen - cpuBefore.gen,
          machineBusyPct: mach.total ? (mach.busy / mach.total) * 100 : 0,
          intervalS: (cpuAfter.at - cpuBefore.at) / 1000,
        },
        nodes: nodes.map((n, i) => ({
          id: n.id,
          rssMiB: (after[i]!.get('process_resident_memory_bytes') ?? 0) / MiB,
          heapUsedMiB: (after[i]!.get('nodejs_heap_size_used_bytes') ?? 0) / MiB,
          externalMiB: (after[i]!.get('nodejs_external_memory_bytes') ?? 0) / MiB,
          eventLoopLagP99Ms: after[i]!.has('nodejs_eventloop_lag_p99_seconds') ? after[i]!.get('nodejs_eventloop_lag_p99_seconds')! * 1000 : null,
          wsConnections: after[i]!.get('parley_ws_connections') ?? 0,
          subscriptions: after[i]!.get('parley_subscriptions') ?? 0,
        })),
      }
      steps.push(r)
      const errN = Object.values(errors).reduce((a, b) => a + b, 0)
      log(
        `step ${step}/${opt.steps.length} target ${Math.round(target)} deliv/s (${Math.round(msgRate)} msg/s): ` +
          `${Math.round(r.acceptedPerSec)} msg/s accepted, ${Math.round(r.deliveriesPerSec)} deliv/s, ` +
          (r.markersPerSec === undefined ? '' : `${Math.round(r.markersPerSec)} read markers/s, `) +
          `p50 ${r.latencyMs.p50.toFixed(1)} p99 ${r.latencyMs.p99.toFixed(1)} p99.9 ${r.latencyMs.p999.toFixed(1)} max ${r.latencyMs.max.toFixed(0)} ms, ` +
          `ack p99 ${r.ackMs.p99.toFixed(1)} ms, errors ${errN}, ${delivered}/${expected} delivered, node CPU ${r.cpu.nodesPer1kDeliveries.toFixed(3)} s/1k, machine ${Math.round(r.cpu.machineBusyPct)}%; ` +
          `worst ms per second: ${(r.worstMsBySecond ?? []).map((v) => Math.round(v)).join(' ')}`,
      )
      if (errN) failures.push(`step ${step}: ${errN} send errors ${JSON.stringify(errors)}`)
      stoppedEarly = saturated(step, delivered, expected, r.latencyMs.p99, drainLimitMs, opt.maxP99Ms)
      if (stoppedEarly) break
    }
    if (stoppedEarly) log(`stopping: ${stoppedEarly}`)
    if (profilers.length) {
      await Promise.all(profilers.map((p, i) => p.stop(path.join(profDir!, `${nodes[i]!.id}-steps.cpuprofile`))))
      for (const p of profilers) p.close()
    }

    // ---- integrity of the load phase ----
    let integrity = sumIntegrity([])
    for (let attempt = 0; attempt < 10; attempt++) {
      const finalSeqs = await roomSeqs(nodes[0]!.url, pop)
      integrity = sumIntegrity(await all<Integrity>({ t: 'verify', finalSeqs, scope: 'main' }))
      if (!integrityBad(integrity) || attempt === 9) break
      await sleep(1000)
    }
    log(`integrity: ${integrity.delivered} events at ${integrity.subscriptions} subscriptions, lost ${integrity.lost}, dup ${integrity.duplicates}, out-of-order ${integrity.outOfOrder}, resets ${integrity.resets}`)
    if (integrityBad(integrity)) failures.push(`load phase: lost ${integrity.lost}, duplicates ${integrity.duplicates}, out-of-order ${integrity.outOfOrder}, resets ${integrity.resets}, ahead ${integrity.ahead}`)
    if (integrity.subscriptionErrors) failures.push(`${integrity.subscriptionErrors} subscription errors`)
    if (integrity.unexpectedCloses) failures.push(`${integrity.unexpectedCloses} connections closed unexpectedly`)
    await all({ t: 'closeMain' })

    // ---- reconnect storm ----
    let storm: StormResult | null = null
    if (opt.storm > 0) storm = await runStorm(opt, nodes, pop, all, log, failures, cpuOf, profDir)

    const finishedAt = new Date()
    const best = steps.filter((s) => s.latencyMs.p99 < 100 && Object.keys(s.errors).length === 0).sort((a, b) => b.deliveriesPerSec - a.deliveriesPerSec)[0]
    const targets: Target[] = [
      {
        name: 'throughput, 2 nodes',
        target: '≥ 45,000 deliveries/s with p99 < 100 ms, zero loss',
        measured: best ? `${Math.round(best.deliveriesPerSec).toLocaleString('en-US')} deliveries/s at p99 ${best.latencyMs.p99.toFixed(1)} ms (step ${best.step})` : 'no step under p99 100 ms',
        met: !!best && best.deliveriesPerSec >= 45_000 && !integrityBad(integrity),
      },
      {
        name: 'memory per subscribed connection',
        target: '≤ 20 KiB',
        measured: !capacity
          ? 'not measured'
          : capacity.pwa
            ? `${capacity.pwa.kiBPerConnection.toFixed(1)} KiB as the PWA holds it (events.room + events.user); events.room alone ${capacity.subscribedKiBPerConnection.toFixed(1)} KiB, idle ${capacity.idleKiBPerConnection.toFixed(1)} KiB`
            : `${capacity.subscribedKiBPerConnection.toFixed(1)} KiB with events.room (idle ${capacity.idleKiBPerConnection.toFixed(1)} KiB)`,
        met: capacity && capacity.subscribed >= 1000 ? Math.max(capacity.subscribedKiBPerConnection, capacity.pwa?.kiBPerConnection ?? 0) <= 20 : null,
      },
      {
        name: 'subscribed connections on one node',
        target: '≥ 15,000',
        measured: capacity ? `${capacity.subscribed.toLocaleString('en-US')} of ${capacity.requested.toLocaleString('en-US')} requested` : 'not measured',
        met: capacity ? capacity.subscribed >= 15_000 : null,
      },
      {
        name: 'reconnect storm',
        target: '5,000 clients resumed < 10 s, zero loss',
        measured: storm ? `${storm.clients.toLocaleString('en-US')} clients, ${storm.allCaughtUpS === null ? 'not all resumed' : `all caught up in ${storm.allCaughtUpS.toFixed(2)} s`}, lost ${storm.integrity.lost}` : 'not run',
        met: storm && storm.clients >= 5000 ? storm.allCaughtUpS !== null && storm.allCaughtUpS < 10 && !integrityBad(storm.integrity) : null,
      },
    ]
    notes.push('Latency is measured from the *intended* send time of an open-loop schedule to receipt at each recipient, on one monotonic clock (process.hrtime) shared by all processes on the machine.')
    notes.push('Everything (2 nodes, MongoDB, Redis, load generators) shares the same cores: "cores used" shows where the machine went in each step (nodes, load generators, MongoDB, Redis), "machine busy" how full it was.')
    result = {
      mode: opt.smoke ? 'smoke' : 'full',
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationS: (finishedAt.getTime() - startedAt.getTime()) / 1000,
      command: `pnpm bench ${process.argv.slice(2).filter((a) => a !== '--').join(' ')}`.trim(),
      source,
      machine: {
        cpu: os.cpus()[0]?.model ?? 'unknown',
        cores: os.cpus().length,
        memGiB: os.totalmem() / 2 ** 30,
        os: `${os.type()} ${os.release()}`,
        node: process.version,
        loadavgAtStart,
      },
      topology: {
        nodes: nodes.length,
        loadGenerators: opt.workers,
        mongo: process.env.MONGODB_URL ? 'MONGODB_URL' : 'embedded (standalone process, in-memory)',
        redis: 'redis-server (loopback)',
        sendTransport: 'WebSocket (tRPC mutation on the same socket as the subscriptions)',
        nodeEnv: { ...BENCH_NODE_ENV },
      },
      population: {
        users: pop.users.length,
        rooms: pop.rooms.length,
        smallRooms: `${opt.smallRooms} × ${opt.smallMin}–${opt.smallMax} members`,
        bigRooms: `${opt.bigRooms} × ${opt.bigSize} members`,
        memberships,
        meanRoomSize,
        setupS,
      },
      steps,
      stoppedEarly,
      browser,
      capacity,
      storm,
      integrity,
      targets,
      failures,
      notes,
    }
  } catch (err) {
    failures.push(`aborted: ${(err as Error).stack ?? String(err)}`)
    log(`ABORTED: ${(err as Error).message}`)
  } finally {
    await Promise.all(workers.map((w) => w.call({ t: 'exit' }).catch(() => {})))
    await Promise.all(nodes.map((n) => stopNode(n)))
    await mongo.stop()
    await redis.stop()
  }

  if (result) {
    result.failures = failures
    const chart = `${opt.name}-p99.svg`
    writeFileSync(path.join(outDir, `${opt.name}.json`), JSON.stringify(result, null, 2) + '\n')
    writeFileSync(path.join(outDir, `${opt.name}.md`), `# Parley benchmark — ${opt.name}\n\n` + renderMarkdown(result, chart))
    writeFileSync(path.join(outDir, chart), renderSvg(result))
    if (!opt.smoke) {
      const runs = path.join(outDir, 'runs')
      mkdirSync(runs, { recursive: true })
      writeFileSync(path.join(runs, `${result.startedAt.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2) + '\n')
    }
    if (opt.docs) updateDocs(result, path.relative(path.join(repoRoot, 'docs'), path.join(outDir, chart)))
    for (const t of result.targets) log(`target ${t.name}: ${t.measured} → ${t.met === null ? 'n/a' : t.met ? 'MET' : 'NOT MET'}`)
    log(`results: ${path.join(outDir, opt.name)}.{json,md} and ${chart}`)
  } else {
    writeFileSync(path.join(outDir, `${opt.name}.json`), JSON.stringify({ mode: opt.smoke ? 'smoke' : 'full', startedAt: startedAt.toISOString(), failures }, null, 2) + '\n')
  }
  if (profDir && existsSync(profDir)) {
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'))
    if (files.length) {
      const md = summariseProfiles(files.map((f) => path.join(profDir, f)), path.join(profDir, 'main.js'))
      writeFileSync(path.join(profDir, 'summary.md'), md)
      log(`cpu profiles: ${profDir}/summary.md`)
    }
  }
  if (failures.length) {
    for (const f of failures) log(`FAIL: ${f}`)
    return 1
  }
  log('ok')
  return 0
}

type All = <T>(cmd: Command | ((w: number) => Command)) => Promise<T[]>

async function settledRss(node: ParleyNode, settleS: number): Promise<{ rss: number; heap: number; m: Map<string, number> }> {
  // Let the work in flight finish, then force full GCs through the node's inspector (it runs with
  // --inspect for this), so RSS and heap count what is live, not garbage not yet collected.
  await sleep(settleS * 1000)
  if (node.inspectorUrl) {
    const inspector = await InspectorProfiler.connect(node.inspectorUrl)
    try {
      await inspector.collectGarbage()
    } finally {
      inspector.close()
    }
    await sleep(500)
  }
  let rss = Infinity
  let heap = Infinity
  let m = new Map<string, number>()
  for (let i = 0; i < 3; i++) {
    m = await scrape(node)
    rss = Math.min(rss, m.get('process_resident_memory_bytes') ?? Infinity)
    heap = Math.min(heap, m.get('nodejs_heap_size_used_bytes') ?? Infinity)
    if (i < 2) await sleep(500)
  }
  return { rss, heap, m }
}

/** events.user streams the node has not started yet (its users still loading). */
async function userStreamsStarting(node: ParleyNode): Promise<number> {
  const n = (await scrape(node)).get('parley_user_streams_starting')
  if (n === undefined) throw new Error(`${node.id} exports no parley_user_streams_starting: cannot tell when its events.user streams have started`)
  return n
}

async function runCapacity(opt: Options, node: ParleyNode, all: All, log: (s: string) => void, profDir?: string): Promise<CapacityResult> {
  const base = await settledRss(node, opt.settleS)
  const per = Math.ceil(opt.capacity / opt.workers)
  const requested = per * opt.workers
  const openedAt = Date.now()
  const opened = await all<{ open: number }>({ t: 'capOpen', node: 0, count: per })
  const openSeconds = (Date.now() - openedAt) / 1000
  const open = opened.reduce((a, o) => a + o.open, 0)
  log(`capacity: ${open} idle connections open on ${node.id} in ${openSeconds.toFixed(1)} s${open < requested ? ` (${requested - open} of ${requested} not opened: refused past the node's MAX_CONNECTIONS or failed)` : ''}`)
  const idle = await settledRss(node, opt.settleS)
  // 'started' is answered before the server has set the subscription up: wait for the node's gauge.
  const subscribe = async (path: 'events.room' | 'events.user', perConnection: number) => {
    const t = Date.now()
    const errors = (await all<{ subscriptionErrors: number }>({ t: 'capSubscribe', path })).reduce((a, s) => a + s.subscriptionErrors, 0)
    const want = open * perConnection - errors
    const until = Date.now() + 120_000
    let gauge = 0
    for (let stable = 0; Date.now() < until && stable < 5; ) {
      const g = (await scrape(node)).get('parley_subscriptions') ?? 0
      if (g >= want) break
      stable = g === gauge ? stable + 1 : 0
      gauge = g
      await sleep(500)
    }
    // events.user streams are counted before they have loaded their user's rooms and unread counts.
    const loaded = Date.now() + 300_000
    while (path === 'events.user' && Date.now() < loaded && (await userStreamsStarting(node)) > 0) await sleep(1000)
    return { errors, seconds: (Date.now() - t) / 1000, settled: await settledRss(node, opt.settleS) }
  }
  const { errors: subErrors, seconds: subscribeSeconds, settled: full } = await subscribe('events.room', 1)
  const subscribed = Math.min(open, full.m.get('parley_subscriptions') ?? 0)
  // The same connections as the PWA holds them: its events.user stream next to the open room's.
  // --cpu-prof: the node while the events.user streams start.
  const profiler = opt.capacityPwa && profDir && node.inspectorUrl ? await InspectorProfiler.connect(node.inspectorUrl) : null
  await profiler?.start()
  const pwa = opt.capacityPwa ? await subscribe('events.user', 2) : null
  if (profiler) {
    await profiler.stop(path.join(profDir!, `${node.id}-capacity-pwa.cpuprofile`))
    profiler.close()
  }
  const r = {
    node: node.id,
    requested,
    open,
    subscribed,
    subscriptionErrors: subErrors,
    settleMs: opt.settleS * 1000,
    rssBaselineMiB: base.rss / MiB,
    heapBaselineMiB: base.heap / MiB,
    rssIdleMiB: idle.rss / MiB,
    rssSubscribedMiB: full.rss / MiB,
    idleKiBPerConnection: (idle.rss - base.rss) / open / KiB,
    subscribedKiBPerConnection: (full.rss - base.rss) / open / KiB,
    heapIdleKiBPerConnection: (idle.heap - base.heap) / open / KiB,
    heapSubscribedKiBPerConnection: (full.heap - base.heap) / open / KiB,
    wsConnectionsGauge: full.m.get('parley_ws_connections') ?? 0,
    subscriptionsGauge: subscribed,
    openSeconds,
    subscribeSeconds,
    pwa: pwa && {
      subscriptionErrors: pwa.errors,
      rssMiB: pwa.settled.rss / MiB,
      kiBPerConnection: (pwa.settled.rss - base.rss) / open / KiB,
      heapKiBPerConnection: (pwa.settled.heap - base.heap) / open / KiB,
      subscribeSeconds: pwa.seconds,
    },
  } satisfies CapacityResult
  log(
    `capacity: ${r.subscribed} subscribed on ${node.id} (subscribe ${subscribeSeconds.toFixed(1)} s, ${subErrors} errors); RSS ${r.rssBaselineMiB.toFixed(0)} → ${r.rssIdleMiB.toFixed(0)} → ${r.rssSubscribedMiB.toFixed(0)} MiB: ` +
      `${r.idleKiBPerConnection.toFixed(1)} KiB/idle conn, ${r.subscribedKiBPerConnection.toFixed(1)} KiB/subscribed conn (heap ${r.heapSubscribedKiBPerConnection.toFixed(1)} KiB)` +
      (r.pwa ? `; + events.user (as the PWA): ${r.pwa.kiBPerConnection.toFixed(1)} KiB/conn, all started in ${r.pwa.subscribeSeconds.toFixed(1)} s (${r.pwa.subscriptionErrors} refused)` : ''),
  )
  await all({ t: 'capClose' })
  // Let the node notice the closes before the load starts.
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const m = await scrape(node)
    if ((m.get('parley_ws_connections') ?? 0) < 10) break
    await sleep(250)
  }
  // What the connections held must come back (a leak would stay here), and the load steps that follow
  // should not start with 15,000 connections' garbage in the heap: V8 grew its limits for them and
  // collected them only later, mid-step (docs/performance.md, "Each phase starts from a collected heap").
  const closed = await settledRss(node, opt.settleS)
  const afterClose = { connections: closed.m.get('parley_ws_connections') ?? 0, rssMiB: closed.rss / MiB, heapMiB: closed.heap / MiB }
  log(`capacity: all closed on ${node.id}: RSS ${afterClose.rssMiB.toFixed(0)} MiB, heap ${afterClose.heapMiB.toFixed(0)} MiB (before they opened: ${r.rssBaselineMiB.toFixed(0)} / ${r.heapBaselineMiB.toFixed(0)} MiB)`)
  return { ...r, afterClose }
}

interface CpuSample {
  /** The node asked about (0 when none was). */
  node: number
  mongo: number
  redis: number
  gen: number
  machine: { busy: number; total: number }
  at: number
}

/** Cores each part used between two samples, and how busy the machine was. */
function coresBetween(a: CpuSample, b: CpuSample): NonNullable<StormResult['cores']> {
  const s = (b.at - a.at) / 1000
  const total = b.machine.total - a.machine.total
  return { node: (b.node - a.node) / s, loadgen: (b.gen - a.gen) / s, mongo: (b.mongo - a.mongo) / s, redis: (b.redis - a.redis) / s, machineBusyPct: total ? ((b.machine.busy - a.machine.busy) / total) * 100 : 0 }
}

async function runStorm(opt: Options, nodes: ParleyNode[], pop: Population, all: All, log: (s: string) => void, failures: string[], cpuOf: (node: ParleyNode) => CpuSample, profDir?: string): Promise<StormResult> {
  const [survivor, victim] = [nodes[0]!, nodes[1]!]
  const startSeqs = await roomSeqs(survivor.url, pop)
  const per = Math.ceil(opt.storm / opt.workers)
  let t = Date.now()
  await all({ t: 'stormOpen', node: 1, failover: 0, count: per, startSeqs, jitterMs: opt.stormJitterMs, handshakeTimeoutMs: opt.stormHandshakeTimeoutMs, pwa: opt.stormPwa })
  log(`storm: ${per * opt.workers} clients subscribed on ${victim.id} in ${((Date.now() - t) / 1000).toFixed(1)} s; sending ${opt.stormRate} msg/s through ${survivor.id}`)
  await all({ t: 'stormSend', node: 0, rate: opt.stormRate / opt.workers })
  await sleep(2000)
  // Everything acknowledged before the kill must reach every client after it.
  const acked = await all<number[]>({ t: 'maxAcked' })
  const targets = startSeqs.map((s, r) => Math.max(s, ...acked.map((a) => a[r] ?? 0)))
  // --cpu-prof: the survivor, from the kill until every client caught up.
  const profiler = profDir && survivor.inspectorUrl ? await InspectorProfiler.connect(survivor.inspectorUrl) : null
  await profiler?.start()
  const cpuAtKill = cpuOf(survivor)
  const roundTrips = async () => (await scrape(survivor)).get('parley_mongodb_operation_seconds_count') ?? 0
  const roundTripsAtKill = await roundTrips()
  const overflowsAtKill = listenOverflows()
  const killedAtNs = nowNs()
  await killNode(victim)
  log(`storm: kill -9 ${victim.id}`)
  await all({ t: 'stormTargets', targets, killedAtNs })
  const total = per * opt.workers
  const deadline = Date.now() + 60_000
  let st: StormStatus[] = []
  let lastLog = 0
  for (;;) {
    st = await all<StormStatus>({ t: 'stormStatus' })
    const caught = st.reduce((a, s) => a + s.caughtUp, 0)
    if (Date.now() - lastLog > 1000) {
      lastLog = Date.now()
      log(`storm: closed ${st.reduce((a, s) => a + s.closed, 0)}, reconnected ${st.reduce((a, s) => a + s.reconnected, 0)}, resubscribed ${st.reduce((a, s) => a + s.resubscribed, 0)}, caught up ${caught}/${total}`)
    }
    if (caught >= total || Date.now() > deadline) break
    await sleep(100)
  }
  const cores = coresBetween(cpuAtKill, cpuOf(survivor))
  const mongoRoundTrips = (await roundTrips()) - roundTripsAtKill
  const overflowsNow = listenOverflows()
  const overflows = overflowsNow === null || overflowsAtKill === null ? null : overflowsNow - overflowsAtKill
  // --storm-pwa: until the survivor has loaded the users of the events.user streams reopened on it.
  const sumS = (f: (s: StormStatus) => number) => st.reduce((a, s) => a + f(s), 0)
  const lastS = (f: (s: StormStatus) => number, count: (s: StormStatus) => number) => (sumS(count) >= total ? (Math.max(...st.map(f)) - killedAtNs) / 1e9 : null)
  let userStreamsLoadedS: number | null = null
  let roomListsLoadedS: number | null = null
  let roomListErrors: Record<string, number> = {}
  if (opt.stormPwa) {
    for (const until = Date.now() + 60_000; Date.now() < until; await sleep(250)) {
      if ((await userStreamsStarting(survivor)) === 0) {
        userStreamsLoadedS = Number(nowNs() - killedAtNs) / 1e9
        break
      }
    }
    log(`storm: events.user streams all started ${userStreamsLoadedS?.toFixed(2) ?? 'not'} s after the kill`)
    for (const until = Date.now() + 60_000; Date.now() < until && sumS((s) => s.roomListsLoaded) < total; await sleep(250)) st = await all<StormStatus>({ t: 'stormStatus' })
    roomListsLoadedS = lastS((s) => s.lastRoomListNs, (s) => s.roomListsLoaded)
    roomListErrors = st.reduce<Record<string, number>>((all, s) => {
      for (const [code, n] of Object.entries(s.roomListErrors)) all[code] = (all[code] ?? 0) + n
      return all
    }, {})
    log(`storm: room lists (rooms.list over the new socket) all answered ${roomListsLoadedS?.toFixed(2) ?? 'not'} s after the kill; failed and retried: ${JSON.stringify(roomListErrors)}`)
  }
  if (profiler) {
    await profiler.stop(path.join(profDir!, `${survivor.id}-storm.cpuprofile`))
    profiler.close()
  }
  await sleep(2000)
  const sendStats = await all<StepStats>({ t: 'stormStopSend' })
  // Drain, then check every client against the rooms' final seqs.
  let integrity: Integrity
  t = Date.now()
  for (;;) {
    const finalSeqs = await roomSeqs(survivor.url, pop)
    integrity = sumIntegrity(await all<Integrity>({ t: 'verify', finalSeqs, scope: 'storm' }))
    if (!integrityBad(integrity) || Date.now() - t > 15_000) break
    await sleep(500)
  }
  const r: StormResult = {
    clients: total,
    killedNode: victim.id,
    failoverNode: survivor.id,
    jitterMs: opt.stormJitterMs,
    handshakeTimeoutMs: opt.stormHandshakeTimeoutMs,
    sendRate: opt.stormRate,
    closed: sumS((s) => s.closed),
    reconnected: sumS((s) => s.reconnected),
    resubscribed: sumS((s) => s.resubscribed),
    caughtUp: sumS((s) => s.caughtUp),
    allReconnectedS: lastS((s) => s.lastReconnectedNs, (s) => s.reconnected),
    allResubscribedS: lastS((s) => s.lastResubscribedNs, (s) => s.resubscribed),
    allCaughtUpS: lastS((s) => s.lastCaughtUpNs, (s) => s.caughtUp),
    reconnectFailures: sumS((s) => s.reconnectFailures),
    reclosed: sumS((s) => s.reclosed),
    unansweredResumes: sumS((s) => s.unansweredResumes),
    pwa: opt.stormPwa ? { userStreamsStartedS: userStreamsLoadedS, userStreamErrors: sumS((s) => s.userStreamErrors), roomListsLoadedS, roomListErrors } : null,
    messagesDuringStorm: sendStats.reduce((a, s) => a + s.acked, 0),
    cores,
    mongoRoundTrips,
    listenOverflows: overflows,
    integrity,
  }
  const sendErrors = sendStats.reduce((a, s) => a + Object.values(s.errors).reduce((x, y) => x + y, 0), 0)
  log(
    `storm: ${r.caughtUp}/${total} caught up; all reconnected ${r.allReconnectedS?.toFixed(2) ?? '–'} s, resubscribed ${r.allResubscribedS?.toFixed(2) ?? '–'} s, caught up ${r.allCaughtUpS?.toFixed(2) ?? '–'} s; ` +
      `lost ${integrity.lost}, dup ${integrity.duplicates}, out-of-order ${integrity.outOfOrder}, resets ${integrity.resets}; ` +
      `cores used until caught up: ${survivor.id} ${cores.node.toFixed(2)} · load-gen ${cores.loadgen.toFixed(2)} · mongo ${cores.mongo.toFixed(2)} · redis ${cores.redis.toFixed(2)}, machine ${cores.machineBusyPct.toFixed(0)}% busy; MongoDB round trips by ${survivor.id}: ${mongoRoundTrips.toLocaleString('en-US')}; connection attempts dropped (accept queue full): ${overflows ?? 'unknown'}`,
  )
  if (r.caughtUp < total) failures.push(`storm: only ${r.caughtUp}/${total} clients resumed within 60 s`)
  if (integrityBad(integrity)) failures.push(`storm: lost ${integrity.lost}, duplicates ${integrity.duplicates}, out-of-order ${integrity.outOfOrder}, resets ${integrity.resets}, ahead of final seq ${integrity.ahead}`)
  if (sendErrors) failures.push(`storm: ${sendErrors} send errors`)
  if (r.pwa && r.pwa.roomListsLoadedS === null) failures.push(`storm: not every client had its room list again within 60 s`)
  return r
}

const BEGIN = '<!-- bench:latest:begin -->'
const END = '<!-- bench:latest:end -->'
function updateDocs(r: BenchResult, chartRel: string): void {
  const file = path.join(repoRoot, 'docs/performance.md')
  const block = `${BEGIN}\n<!-- generated by \`pnpm bench\`; edit outside these markers -->\n\n${renderMarkdown(r, chartRel)}\n${END}`
  let text = existsSync(file) ? readFileSync(file, 'utf8') : `# Performance\n\n## Latest full run\n\n${BEGIN}\n${END}\n`
  if (!text.includes(BEGIN)) text += `\n## Latest full run\n\n${BEGIN}\n${END}\n`
  text = text.slice(0, text.indexOf(BEGIN)) + block + text.slice(text.indexOf(END) + END.length)
  writeFileSync(file, text)
  log('docs/performance.md updated')
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
