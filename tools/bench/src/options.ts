import { parseArgs } from 'node:util'

export interface Options {
  smoke: boolean
  /** Target deliveries/s per step (converted to messages/s through the mean room size). */
  steps: number[]
  durationS: number
  /** Unrecorded warm-up at the first step's rate (JIT, connection pools). */
  warmupS: number
  users: number
  smallRooms: number
  smallMin: number
  smallMax: number
  bigRooms: number
  bigSize: number
  workers: number
  bodyBytes: number
  /** Stop stepping after a step whose p99 exceeds this (ms) or which did not drain. */
  maxP99Ms: number
  capacity: number
  /** Also give each capacity connection an events.user stream, as the PWA holds it. */
  capacityPwa: boolean
  settleS: number
  storm: number
  /** Messages timed per room in Chromium (0 skips the browser phase). */
  browser: number
  /** Messages that arrive live in the followed room before the browser phase times it. */
  browserBacklog: number
  stormJitterMs: number
  stormHandshakeTimeoutMs: number
  stormRate: number
  stormPwa: boolean
  /** Each user marks its first room read as the PWA does (at most every 5 s while events arrive). */
  readMarkers: boolean
  out: string
  name: string
  cpuProf: boolean
  docs: boolean
  setupConcurrency: number
  /** Measure a reference stack instead of Parley (same population, load and accounting). */
  reference: 'socketio' | 'socketio-mongo' | null
}

export const USAGE = `usage: pnpm bench [--smoke] [options]

  --smoke                 tiny load, seconds; exits non-zero on loss/dup/reorder/crash
  --steps 5000,10000,...  target deliveries/s per step (default 1k,2.5k,5k,10k,20k,30k,45k,60k,90k)
  --duration S            seconds per step (15)
  --warmup S              unrecorded warm-up at the first step's rate (5)
  --users N               users (2000); one WebSocket each, half per node
  --small-rooms N         rooms of --small-min..--small-max members (200, 10..20)
  --big-rooms N           rooms of --big-size members (2 × 600)
  --workers N             load-generator processes (2)
  --body-bytes N          message body length (100)
  --max-p99 MS            stop after a step whose p99 is above this (2000)
  --read-markers          each user also marks its first room read, as the PWA does for the room on
                          screen: rooms.markRead with the newest seq, at most every 5 s while
                          events arrive (on in --smoke; off by default so runs stay comparable)
  --capacity N            subscribed connections opened on one node (15000; 0 skips)
  --capacity-room-only    subscribe them to events.room only (by default each then also gets an
                          events.user stream, as the PWA holds its connection)
  --settle S              settle time before reading RSS (5)
  --browser N             messages timed in Chromium per room, keypress to the other person's screen (40; 0 skips)
  --browser-backlog N     messages that arrive live in the followed room before it is timed (250)
  --storm N               reconnect-storm clients on the node that is killed (5000; 0 skips)
  --storm-jitter MS       clients reconnect after a random 0..MS delay (250)
  --storm-handshake-timeout MS
                          a client gives up on an unanswered handshake and retries after MS (5000);
                          0 never gives up, as tRPC's createWSClient (the PWA's) does
  --storm-pwa             each storm client also holds (and reopens) an events.user stream, as the PWA does
                          (on in --smoke)
  --storm-rate N          messages/s sent while the storm runs (100)
  --out DIR               results directory (bench/results)
  --name NAME             file prefix (latest; smoke for --smoke)
  --cpu-prof              CPU-profile both nodes during the load steps and the survivor during the storm (V8 inspector), summary in DIR/profiles
  --no-docs               do not update docs/performance.md (full runs update it)
  --reference socketio    load steps against the stack the target was set by instead: Socket.IO with
                          its Redis adapter, persisting nothing (same population, open loop, sockets
                          and accounting); writes DIR/reference-socketio.{json,md}
  --reference socketio-mongo
                          the same, each message first written to MongoDB (one insertOne, the
                          embedded server or MONGODB_URL); DIR/reference-socketio-mongo.{json,md}
`

export function parseOptions(argv: string[]): Options {
  const { values: v } = parseArgs({
    args: argv.filter((a) => a !== '--'),
    options: {
      smoke: { type: 'boolean' },
      'capacity-room-only': { type: 'boolean' },
      steps: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      users: { type: 'string' },
      'small-rooms': { type: 'string' },
      'small-min': { type: 'string' },
      'small-max': { type: 'string' },
      'big-rooms': { type: 'string' },
      'big-size': { type: 'string' },
      workers: { type: 'string' },
      'body-bytes': { type: 'string' },
      'max-p99': { type: 'string' },
      capacity: { type: 'string' },
      settle: { type: 'string' },
      storm: { type: 'string' },
      browser: { type: 'string' },
      'browser-backlog': { type: 'string' },
      'storm-jitter': { type: 'string' },
      'storm-handshake-timeout': { type: 'string' },
      'storm-pwa': { type: 'boolean' },
      'read-markers': { type: 'boolean' },
      'storm-rate': { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      'no-docs': { type: 'boolean' },
      'setup-concurrency': { type: 'string' },
      reference: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (v.help) {
    process.stdout.write(USAGE)
    process.exit(0)
  }
  const smoke = v.smoke ?? false
  const num = (s: string | undefined, def: number, name: string): number => {
    if (s === undefined) return def
    const n = Number(s)
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: not a number: ${s}`)
    return n
  }
  const d = smoke
    ? { steps: [400, 800], duration: 2, users: 40, smallRooms: 3, smallMin: 10, smallMax: 12, bigRooms: 1, bigSize: 25, capacity: 200, settle: 1, storm: 100, jitter: 100, stormRate: 40, browser: 5, browserBacklog: 30 }
    : { steps: [1000, 2500, 5000, 10000, 20000, 30000, 45000, 60000, 90000], duration: 15, users: 2000, smallRooms: 200, smallMin: 10, smallMax: 20, bigRooms: 2, bigSize: 600, capacity: 15000, settle: 5, storm: 5000, jitter: 250, stormRate: 100, browser: 40, browserBacklog: 250 }
  const stacks = ['socketio', 'socketio-mongo'] as const
  const reference = v.reference === undefined ? null : stacks.find((x) => x === v.reference)
  if (reference === undefined) throw new Error(`--reference: unknown stack ${v.reference} (known: ${stacks.join(', ')})`)
  const steps = v.steps ? v.steps.split(',').map((s) => num(s.trim(), 0, 'steps')).filter((n) => n > 0) : d.steps
  if (!steps.length) throw new Error('--steps: at least one positive rate')
  return {
    smoke,
    steps,
    durationS: num(v.duration, d.duration, 'duration'),
    warmupS: num(v.warmup, smoke ? 1 : 5, 'warmup'),
    users: num(v.users, d.users, 'users'),
    smallRooms: num(v['small-rooms'], d.smallRooms, 'small-rooms'),
    smallMin: num(v['small-min'], d.smallMin, 'small-min'),
    smallMax: num(v['small-max'], d.smallMax, 'small-max'),
    bigRooms: num(v['big-rooms'], d.bigRooms, 'big-rooms'),
    bigSize: num(v['big-size'], d.bigSize, 'big-size'),
    workers: Math.max(1, num(v.workers, 2, 'workers')),
    bodyBytes: num(v['body-bytes'], 100, 'body-bytes'),
    maxP99Ms: num(v['max-p99'], 2000, 'max-p99'),
    capacity: num(v.capacity, d.capacity, 'capacity'),
    capacityPwa: !v['capacity-room-only'],
    settleS: num(v.settle, d.settle, 'settle'),
    storm: num(v.storm, d.storm, 'storm'),
    browser: num(v.browser, d.browser, 'browser'),
    browserBacklog: num(v['browser-backlog'], d.browserBacklog, 'browser-backlog'),
    stormJitterMs: num(v['storm-jitter'], d.jitter, 'storm-jitter'),
    stormHandshakeTimeoutMs: num(v['storm-handshake-timeout'], 5000, 'storm-handshake-timeout'),
    stormRate: num(v['storm-rate'], d.stormRate, 'storm-rate'),
    stormPwa: !!v['storm-pwa'] || smoke,
    readMarkers: !!v['read-markers'] || smoke,
    out: v.out ?? '',
    name: v.name ?? (reference ? `reference-${reference}${smoke ? '-smoke' : ''}` : smoke ? 'smoke' : 'latest'),
    cpuProf: v['cpu-prof'] ?? false,
    docs: !smoke && !(v['no-docs'] ?? false),
    setupConcurrency: num(v['setup-concurrency'], 16, 'setup-concurrency'),
    reference,
  }
}
