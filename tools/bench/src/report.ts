/** The result file's shape, and its Markdown and SVG renderings. */
import type hdr from 'hdr-histogram-js'
import type { BrowserResult, MainThread } from './browser.ts'
import type { Integrity } from './protocol.ts'

export interface Percentiles {
  count: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

/** A histogram of µs as the report's percentiles, in ms. */
export function percentiles(h: ReturnType<typeof hdr.build>): Percentiles {
  const v = (p: number) => (h.totalCount ? h.getValueAtPercentile(p) / 1000 : 0)
  return { count: h.totalCount, p50: v(50), p90: v(90), p99: v(99), p999: v(99.9), max: h.totalCount ? h.maxValue / 1000 : 0 }
}

/** Why stepping stops after this step (the server is saturated: further steps would only measure queueing), or null. */
export function saturated(step: number, delivered: number, expected: number, p99Ms: number, drainLimitMs: number, maxP99Ms: number): string | null {
  if (delivered < expected) return `step ${step} did not drain within ${Math.round(drainLimitMs / 1000)} s (${expected - delivered} deliveries outstanding)`
  if (p99Ms > maxP99Ms) return `step ${step} p99 ${Math.round(p99Ms)} ms > --max-p99 ${maxP99Ms} ms (saturated)`
  return null
}

export interface StepResult {
  step: number
  targetDeliveriesPerSec: number
  targetMsgsPerSec: number
  durationS: number
  sent: number
  acked: number
  errors: Record<string, number>
  msgsSentPerSec: number
  acceptedPerSec: number
  /** --read-markers: rooms.markRead calls the server took per second. */
  markersPerSec?: number
  expectedDeliveries: number
  delivered: number
  deliveriesPerSec: number
  crossNodeShare: number
  /** send (intended) → receive, ms */
  latencyMs: Percentiles
  /** send (intended) → acknowledgement, ms */
  ackMs: Percentiles
  /** Worst send→receive latency of the messages sent in each second of the step, ms (spikes show up here). */
  worstMsBySecond?: number[]
  drainMs: number
  cpu: {
    nodesSeconds: number
    nodesPer1kDeliveries: number
    mongoSeconds: number
    redisSeconds: number
    loadgenSeconds: number
    machineBusyPct: number
    /** Wall time the CPU figures above were taken over (the step and its drain), s. */
    intervalS?: number
  }
  nodes: { id: string; rssMiB: number; heapUsedMiB: number; externalMiB: number; eventLoopLagP99Ms: number | null; wsConnections: number; subscriptions: number }[]
}

export interface CapacityResult {
  node: string
  requested: number
  open: number
  subscribed: number
  subscriptionErrors: number
  settleMs: number
  rssBaselineMiB: number
  rssIdleMiB: number
  rssSubscribedMiB: number
  idleKiBPerConnection: number
  subscribedKiBPerConnection: number
  heapIdleKiBPerConnection: number
  heapSubscribedKiBPerConnection: number
  wsConnectionsGauge: number
  subscriptionsGauge: number
  openSeconds: number
  subscribeSeconds: number
  /** The same connections with an events.user stream added, as the PWA holds them (results before 2026-12-02 lack it). */
  pwa?: null | { subscriptionErrors: number; rssMiB: number; kiBPerConnection: number; heapKiBPerConnection: number; subscribeSeconds: number }
  /** Before the connections opened, and once they had all closed (results before 2026-12-04 23:40 lack both). */
  heapBaselineMiB?: number
  afterClose?: { connections: number; rssMiB: number; heapMiB: number }
}

export interface StormResult {
  clients: number
  killedNode: string
  failoverNode: string
  jitterMs: number
  /** A client gave up on a handshake unanswered this long and retried (0: never); absent in older results (5,000). */
  handshakeTimeoutMs?: number
  sendRate: number
  closed: number
  reconnected: number
  resubscribed: number
  caughtUp: number
  allReconnectedS: number | null
  allResubscribedS: number | null
  allCaughtUpS: number | null
  reconnectFailures: number
  reclosed: number
  unansweredResumes: number
  /** --storm-pwa: when the survivor had started every reopened events.user stream (its user loaded), seconds after the kill. */
  pwa?: null | {
    userStreamsStartedS: number | null
    userStreamErrors: number
    /** When every client had its room list again (`rooms.list` over the new socket, refetched on reconnect as the PWA does; over HTTP in runs before 12-03 22:30), seconds after the kill; absent in runs before it was measured. */
    roomListsLoadedS?: number | null
    /** By tRPC error code (or network error). */
    roomListErrors?: Record<string, number>
  }
  messagesDuringStorm: number
  /** Cores used from the kill until every client caught up (absent in results written before it was recorded). */
  cores?: { node: number; loadgen: number; mongo: number; redis: number; machineBusyPct: number }
  /** MongoDB round trips (operations) the survivor made from the kill until every client caught up. */
  mongoRoundTrips?: number
  /** Connection attempts the kernel dropped with an accept queue full, from the kill until every client caught up (machine-wide; null without /proc; absent in results written before it was recorded). */
  listenOverflows?: number | null
  integrity: Integrity
}

export interface Target {
  name: string
  target: string
  measured: string
  met: boolean | null
}

export interface BenchResult {
  mode: 'smoke' | 'full'
  startedAt: string
  finishedAt: string
  durationS: number
  command: string
  /** The commit measured (absent from results written before it was recorded; null outside a git checkout). */
  source?: { commit: string; dirty: boolean } | null
  machine: { cpu: string; cores: number; memGiB: number; os: string; node: string; loadavgAtStart: number[] }
  topology: { nodes: number; loadGenerators: number; mongo: string; redis: string; sendTransport: string; nodeEnv: Record<string, string> }
  population: { users: number; rooms: number; smallRooms: string; bigRooms: string; memberships: number; meanRoomSize: number; setupS: number }
  steps: StepResult[]
  stoppedEarly: string | null
  /** Two people in Chromium on one node (absent from results written before it existed). */
  browser?: BrowserResult | null
  capacity: CapacityResult | null
  storm: StormResult | null
  integrity: Integrity
  targets: Target[]
  failures: string[]
  notes: string[]
}

const f0 = (n: number) => Math.round(n).toLocaleString('en-US')
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–')
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–')

/** Where the machine's cores went during a step (results written before intervalS was recorded show –). */
function coresUsed(cpu: StepResult['cpu']): string {
  const t = cpu.intervalS
  if (!t) return '–'
  return [cpu.nodesSeconds, cpu.loadgenSeconds, cpu.mongoSeconds, cpu.redisSeconds].map((x) => f2(x / t)).join(' · ')
}
/** Milliseconds as the tables show them: 3 significant digits, whole ms from 100. */
export const ms = (n: number) => (n >= 100 ? f0(n) : n >= 10 ? f1(n) : f2(n))

/** "commit 4ddd851", "commit 4ddd851 with uncommitted changes", or "an unknown commit". */
export function describeSource(source: BenchResult['source']): string {
  if (!source) return 'an unknown commit'
  return `commit ${source.commit.slice(0, 7)}${source.dirty ? ' with uncommitted changes' : ''}`
}

export function renderMarkdown(r: BenchResult, chartFile: string | null): string {
  const L: string[] = []
  L.push(`Run: ${r.startedAt} (${r.mode}, ${f0(r.durationS)} s) — \`${r.command}\` on ${describeSource(r.source)}`)
  L.push('')
  L.push(`Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${f1(r.machine.memGiB)} GiB, ${r.machine.os}, Node ${r.machine.node}; load average at start ${r.machine.loadavgAtStart.map(f2).join(' / ')}.`)
  L.push('')
  L.push(
    `Topology: ${r.topology.nodes} Parley nodes (production build), Redis ${r.topology.redis}, MongoDB ${r.topology.mongo}, ${r.topology.loadGenerators} load-generator processes, sends over ${r.topology.sendTransport}. ` +
      `Population: ${f0(r.population.users)} users, ${r.population.rooms} rooms (${r.population.smallRooms}; ${r.population.bigRooms}), ${f0(r.population.memberships)} subscriptions, mean room size ${f1(r.population.meanRoomSize)}.`,
  )
  L.push('')
  L.push('### Steps')
  L.push('')
  L.push('| step | target deliv/s | sent msg/s | accepted msg/s | deliveries/s | cross-node | p50 ms | p99 ms | p99.9 ms | max ms | ack p50 ms | ack p99 ms | errors | node CPU s / 1k deliv | cores used: nodes · load-gen · mongo · redis | machine busy |')
  L.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const s of r.steps) {
    const errs = Object.values(s.errors).reduce((a, b) => a + b, 0)
    L.push(
      `| ${s.step} | ${f0(s.targetDeliveriesPerSec)} | ${f0(s.msgsSentPerSec)} | ${f0(s.acceptedPerSec)} | **${f0(s.deliveriesPerSec)}** | ${f0(s.crossNodeShare * 100)}% | ${ms(s.latencyMs.p50)} | **${ms(s.latencyMs.p99)}** | ${ms(s.latencyMs.p999)} | ${ms(s.latencyMs.max)} | ${ms(s.ackMs.p50)} | ${ms(s.ackMs.p99)} | ${errs} | ${f2(s.cpu.nodesPer1kDeliveries)} | ${coresUsed(s.cpu)} | ${f0(s.cpu.machineBusyPct)}% |`,
    )
  }
  if (r.steps.some((s) => s.markersPerSec !== undefined)) {
    L.push('', `Read markers (\`--read-markers\`: each user marks its first room read as the PWA does, at most every 5 s), taken per second: ${r.steps.map((s) => `step ${s.step} ${f0(s.markersPerSec ?? 0)}`).join(' · ')}.`)
  }
  if (r.stoppedEarly) L.push('', `Stopped early: ${r.stoppedEarly}.`)
  if (r.steps.some((s) => s.worstMsBySecond?.length)) {
    L.push('', 'Worst send→receive latency of the messages sent in each second of a step (ms) — a p99 over budget is usually a few seconds of backlog, not a slow steady state:', '')
    for (const s of r.steps) if (s.worstMsBySecond?.length) L.push(`- step ${s.step}: ${s.worstMsBySecond.map((v) => f0(v)).join(' · ')}`)
  }
  if (chartFile) L.push('', `![p99 latency vs deliveries/s](${chartFile})`)
  L.push('')
  const i = r.integrity
  L.push(`Integrity (load steps): ${f0(i.subscriptions)} subscriptions, ${f0(i.delivered)} events delivered, lost ${i.lost}, duplicates ${i.duplicates}, out-of-order ${i.outOfOrder}, resets ${i.resets}, subscription errors ${i.subscriptionErrors}, unexpected closes ${i.unexpectedCloses}.`)
  if (r.browser) {
    const b = r.browser
    const spread = (x: { p50: number; p90: number; max: number }) => `**${ms(x.p50)}** · ${ms(x.p90)} · ${ms(x.max)}`
    L.push('', '### What a person sees (Chromium)', '')
    const thread = (t: MainThread) => `${ms(t.tasks)} (${ms(t.layoutAndStyle)})`
    L.push('| room | messages on the reader\'s screen | messages timed | Enter → on the other person\'s screen, ms (p50 · p90 · max) | Enter → the sender\'s copy confirmed, ms (p50 · p90 · max) | main thread per message, ms: writer · reader (of which layout and style) |')
    L.push('| --- | ---: | ---: | --- | --- | --- |')
    for (const room of b.rooms) {
      const t = room.mainThreadMs
      L.push(`| ${room.room} | ${f0(room.messagesOnScreen)} | ${room.samples} | ${spread(room.otherScreenMs)} | ${spread(room.confirmedMs)} | ${thread(t.writer)} · ${thread(t.reader)} |`)
    }
    L.push('', `Two people in Chromium ${b.chromium} on ${b.node}, before the load steps (the other users connected and idle): one types a message and presses Enter, the pages time it to the message in the other person's DOM (painted in the frame after) and to the sender's copy no longer "sending". The followed room's messages arrived while the reader had it open. Main thread: Chromium's own task and layout counters for each page over the timed messages, divided by their number (the writer's include typing the message in).`)
  }
  if (r.capacity) {
    const c = r.capacity
    L.push('')
    L.push('### Connections and memory (one node)')
    L.push('')
    L.push('| node | connections | subscribed | RSS baseline | RSS idle | RSS subscribed | per idle conn | per subscribed conn | heap per subscribed conn | open time | subscribe time |')
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    L.push(
      `| ${c.node} | ${f0(c.open)} | ${f0(c.subscribed)} | ${f0(c.rssBaselineMiB)} MiB | ${f0(c.rssIdleMiB)} MiB | ${f0(c.rssSubscribedMiB)} MiB | ${f1(c.idleKiBPerConnection)} KiB | **${f1(c.subscribedKiBPerConnection)} KiB** | ${f1(c.heapSubscribedKiBPerConnection)} KiB | ${f1(c.openSeconds)} s | ${f1(c.subscribeSeconds)} s |`,
    )
    if (c.open < c.requested) L.push('', `Asked for ${f0(c.requested)}: ${f0(c.requested - c.open)} not opened (refused past the node's \`MAX_CONNECTIONS\`, or failed).`)
    if (c.pwa) {
      L.push('')
      L.push(
        `As the PWA holds them (the same connections, each with an \`events.user\` stream added): RSS ${f0(c.pwa.rssMiB)} MiB, **${f1(c.pwa.kiBPerConnection)} KiB per connection** (heap ${f1(c.pwa.heapKiBPerConnection)} KiB), all started (rooms and unread counts loaded) ${f1(c.pwa.subscribeSeconds)} s after they were requested, ${f0(c.pwa.subscriptionErrors)} refused.`,
      )
    }
    if (c.afterClose && c.heapBaselineMiB !== undefined) {
      L.push('')
      L.push(
        `Once they had all closed (${f0(c.afterClose.connections)} left open): RSS ${f0(c.afterClose.rssMiB)} MiB, heap ${f0(c.afterClose.heapMiB)} MiB, against ${f0(c.rssBaselineMiB)} and ${f0(c.heapBaselineMiB)} MiB before they opened (a per-connection leak would stay here). The load steps start from this collected heap.`,
      )
    }
    L.push('')
    L.push(`RSS read from the node's \`/metrics\` (\`process_resident_memory_bytes\`) after a ${f1(c.settleMs / 1000)} s settle and two full GCs forced through the node's inspector (minimum of three samples).`)
  }
  if (r.storm) {
    const s = r.storm
    L.push('')
    L.push('### Reconnect storm')
    L.push('')
    L.push('| clients | killed | all reconnected | all resubscribed | all caught up | lost | dup | out-of-order | resets | messages during storm |')
    L.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    const t = (x: number | null) => (x === null ? 'not reached' : `${f2(x)} s`)
    L.push(
      `| ${f0(s.clients)} | ${s.killedNode} (kill -9) | ${t(s.allReconnectedS)} | ${t(s.allResubscribedS)} | **${t(s.allCaughtUpS)}** | ${s.integrity.lost} | ${s.integrity.duplicates} | ${s.integrity.outOfOrder} | ${s.integrity.resets} | ${f0(s.messagesDuringStorm)} |`,
    )
    L.push('')
    L.push(`Failed handshakes (retried; ${s.handshakeTimeoutMs === 0 ? 'clients never give up on one' : `a client gives up on one after ${f1((s.handshakeTimeoutMs ?? 5000) / 1000)} s`}): ${s.reconnectFailures}; sockets to ${s.failoverNode} closed again: ${s.reclosed}; resumes never answered within 10 s (socket dropped, retried): ${s.unansweredResumes}; subscriptions ahead of the room's final seq: ${s.integrity.ahead}.${s.cores ? ` Cores used from the kill until all caught up: ${s.failoverNode} ${f2(s.cores.node)} · load generators ${f2(s.cores.loadgen)} · MongoDB ${f2(s.cores.mongo)} · Redis ${f2(s.cores.redis)}; machine ${f0(s.cores.machineBusyPct)} % busy.` : ''}${s.mongoRoundTrips !== undefined ? ` MongoDB round trips by ${s.failoverNode} meanwhile: ${f0(s.mongoRoundTrips)}.` : ''}${typeof s.listenOverflows === 'number' ? ` Connection attempts the kernel dropped meanwhile, the accept queue full (retried by the clients' TCP after 1, 3, 7… s): ${f0(s.listenOverflows)}.` : ''}`)
    L.push('')
    L.push(`Clients reconnect to ${s.failoverNode} after a random 0–${s.jitterMs} ms delay and resume \`events.room\` with \`lastEventId\`; ${s.sendRate} msg/s keep arriving through ${s.failoverNode} throughout. "Caught up" = resubscribed and holding every event acknowledged before the kill.`)
    if (s.pwa) {
      const lists = s.pwa.roomListsLoadedS === undefined ? '' : ` and refetched its room list (\`rooms.list\` over the new socket): all answered ${s.pwa.roomListsLoadedS === null ? 'not within 60 s' : `${f2(s.pwa.roomListsLoadedS)} s after the kill`}, ${failedLists(s.pwa.roomListErrors ?? {})}`
      L.push('', `As the PWA, each client also reopened its \`events.user\` stream: all started (users' rooms and unread counts loaded) ${s.pwa.userStreamsStartedS === null ? 'not within 60 s' : `${f2(s.pwa.userStreamsStartedS)} s after the kill`}; ${s.pwa.userStreamErrors} refused${lists}.`)
    }
  }
  L.push('')
  L.push('### Targets')
  L.push('')
  L.push('| target | goal | measured | met |')
  L.push('| --- | --- | --- | :---: |')
  for (const t of r.targets) L.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`)
  if (r.failures.length) {
    L.push('')
    L.push('Failures:')
    for (const f of r.failures) L.push(`- ${f}`)
  }
  if (r.notes.length) {
    L.push('')
    for (const n of r.notes) L.push(`- ${n}`)
  }
  return L.join('\n') + '\n'
}

/** p99 (and p50) latency vs deliveries/s, log-scale y, no dependencies. */
export function renderSvg(r: BenchResult): string {
  const W = 720
  const H = 420
  const m = { l: 70, r: 20, t: 40, b: 55 }
  const pw = W - m.l - m.r
  const ph = H - m.t - m.b
  const pts = r.steps.filter((s) => s.latencyMs.count > 0)
  const xMax = niceCeil(Math.max(50_000, ...pts.map((s) => s.deliveriesPerSec)) * 1.05)
  const yVals = pts.flatMap((s) => [s.latencyMs.p99, s.latencyMs.p50]).filter((v) => v > 0)
  const yMin = Math.pow(10, Math.floor(Math.log10(Math.max(0.1, Math.min(1, ...yVals)))))
  const yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(1000, ...yVals))))
  const x = (v: number) => m.l + (v / xMax) * pw
  const y = (v: number) => m.t + ph - ((Math.log10(Math.max(v, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph
  const o: string[] = []
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`)
  o.push(`<rect width="${W}" height="${H}" fill="#fff"/>`)
  o.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">Parley: send→receive latency vs deliveries/s (${r.mode}, ${r.startedAt.slice(0, 10)})</text>`)
  // grid
  for (let d = yMin; d <= yMax; d *= 10) {
    o.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`)
    o.push(`<text x="${m.l - 6}" y="${y(d) + 4}" text-anchor="end">${d >= 1000 ? `${d / 1000} s` : `${d} ms`}</text>`)
  }
  const xStep = xMax / 5
  for (let v = 0; v <= xMax + 1; v += xStep) {
    o.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${m.t}" y2="${m.t + ph}" stroke="#eee"/>`)
    o.push(`<text x="${x(v)}" y="${m.t + ph + 18}" text-anchor="middle">${v >= 1000 ? `${Math.round(v / 1000)}k` : Math.round(v)}</text>`)
  }
  o.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">deliveries / s (both nodes)</text>`)
  o.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">latency (log scale)</text>`)
  // target zone: ≥45k deliveries/s with p99 < 100 ms
  o.push(`<rect x="${x(45_000)}" y="${y(100)}" width="${Math.max(0, m.l + pw - x(45_000))}" height="${m.t + ph - y(100)}" fill="#2a2" fill-opacity="0.08"/>`)
  o.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y(100)}" y2="${y(100)}" stroke="#c33" stroke-dasharray="5 4"/>`)
  o.push(`<text x="${m.l + pw - 4}" y="${y(100) - 5}" text-anchor="end" fill="#c33">p99 target 100 ms</text>`)
  o.push(`<line x1="${x(45_000)}" x2="${x(45_000)}" y1="${m.t}" y2="${m.t + ph}" stroke="#c33" stroke-dasharray="5 4"/>`)
  o.push(`<text x="${x(45_000) + 4}" y="${m.t + 12}" fill="#c33">45k/s target</text>`)
  const series = (key: 'p99' | 'p50', color: string) => {
    if (!pts.length) return
    o.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((s) => `${x(s.deliveriesPerSec).toFixed(1)},${y(s.latencyMs[key]).toFixed(1)}`).join(' ')}"/>`)
    for (const s of pts) o.push(`<circle cx="${x(s.deliveriesPerSec).toFixed(1)}" cy="${y(s.latencyMs[key]).toFixed(1)}" r="3.5" fill="${color}"><title>step ${s.step}: ${Math.round(s.deliveriesPerSec)} deliveries/s, ${key} ${s.latencyMs[key].toFixed(1)} ms</title></circle>`)
  }
  series('p50', '#89b')
  series('p99', '#15c')
  o.push(`<rect x="${m.l + 10}" y="${m.t + 8}" width="12" height="3" fill="#15c"/><text x="${m.l + 28}" y="${m.t + 13}">p99</text>`)
  o.push(`<rect x="${m.l + 10}" y="${m.t + 24}" width="12" height="3" fill="#89b"/><text x="${m.l + 28}" y="${m.t + 29}">p50</text>`)
  o.push('</svg>')
  return o.join('\n') + '\n'
}

function niceCeil(v: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(v)))
  for (const k of [1, 2, 2.5, 5, 10]) if (k * p >= v) return k * p
  return 10 * p
}

function failedLists(errors: Record<string, number>): string {
  const all = Object.entries(errors)
  if (all.length === 0) return 'none failed'
  return `failed and retried: ${all.map(([code, n]) => `${n} × ${code}`).join(', ')}`
}
