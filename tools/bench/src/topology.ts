/**
 * The processes under test, all on loopback: redis-server, one standalone
 * embedded MongoDB (or MONGODB_URL), two Parley nodes from the production
 * build, plus helpers to read their /metrics and their CPU time from /proc.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, startRedis, type RedisServer } from '@parley/testing'
import { WorkerProcess } from './ipc.ts'

export const benchRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const repoRoot = path.resolve(benchRoot, '../..')
export const serverMain = path.join(repoRoot, 'apps/server/dist/main.js')
const webIndex = path.join(repoRoot, 'apps/web/dist/index.html')
/**
 * The code a run measured: the checkout's commit, and whether tracked files
 * other than results and docs (which runs rewrite) differed from it when the
 * run started. Null outside a git checkout. Results are compared across days;
 * the commit is what makes a row reproducible.
 */
export function sourceRevision(root = repoRoot): { commit: string; dirty: boolean } | null {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' })
  const head = git('rev-parse', 'HEAD')
  if (head.status !== 0) return null
  const status = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results', ':!docs')
  return { commit: head.stdout.trim(), dirty: status.status !== 0 || status.stdout.trim() !== '' }
}

/** `--import` this to run TypeScript in a child process. */
export const tsxLoader = import.meta.resolve('tsx')

const children = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})
export function track(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** `n` load-generator processes running `file` (TypeScript, through tsx), and `all` to send each of them a command (or one made for its index) and collect the replies. */
export function forkWorkers<C extends object>(file: string, n: number) {
  const workers = Array.from({ length: n }, () => new WorkerProcess<C>(track(fork(file, [], { execArgv: ['--import', tsxLoader], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))))
  const all = <T>(cmd: C | ((w: number) => C)): Promise<T[]> => Promise.all(workers.map((wk, w) => wk.call<T>(typeof cmd === 'function' ? (cmd as (w: number) => C)(w) : cmd)))
  return { workers, all }
}

/**
 * Builds what the nodes run — the server, and the PWA it serves when the
 * browser phase runs — unless Turborepo's cache says dist is current: never
 * bench a stale build.
 */
export function ensureBuild(log: (s: string) => void, { web }: { web: boolean }): void {
  const packages = web ? ['@parley/server', '@parley/web'] : ['@parley/server']
  log(`building ${packages.join(' and ')} (cached when unchanged) …`)
  const r = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', ...packages.map((p) => `--filter=${p}`), '--output-logs=errors-only'], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  })
  if (r.status !== 0 || !existsSync(serverMain) || (web && !existsSync(webIndex))) throw new Error(`building ${packages.join(' and ')} failed (pnpm turbo run build ${packages.map((p) => `--filter=${p}`).join(' ')})`)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface Mongo {
  url: string
  /** The url for the log: MONGODB_URL's credentials left out. */
  shown: string
  pid: number | null
  stop(): Promise<void>
}

export function withoutCredentials(url: URL): string {
  const u = new URL(url)
  if (u.username || u.password) [u.username, u.password] = ['***', '']
  return u.toString()
}

export async function startMongo(): Promise<Mongo> {
  if (process.env.MONGODB_URL) {
    // Use the given server, with a database of our own per run.
    const u = new URL(process.env.MONGODB_URL)
    u.pathname = `/parley_bench_${Date.now().toString(36)}`
    return { url: u.toString(), shown: withoutCredentials(u), pid: null, stop: async () => {} }
  }
  const cli = path.join(repoRoot, 'packages/embedded-mongo/src/cli.ts')
  const child = track(spawn(process.execPath, ['--import', tsxLoader, cli, '--port', '0', '--host', '127.0.0.1'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] }))
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`embedded-mongo did not start: ${out}`)), 30_000)
    const onData = (b: Buffer) => {
      out += b.toString()
      const m = /listening on (mongodb:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()))
    child.once('exit', (code) => reject(new Error(`embedded-mongo exited (${code}): ${out}`)))
  })
  return {
    url: `${url}/parley_bench`,
    shown: `${url}/parley_bench`,
    pid: child.pid ?? null,
    stop: () => stopChild(child),
  }
}

export async function startRedisServer(): Promise<{ redis: RedisServer; pid: number | null }> {
  const redis = await startRedis()
  return { redis, pid: findPid((cmd) => cmd.startsWith('redis-server') && cmd.includes(`:${redis.port}`)) }
}

/** A pid among our descendants whose command line matches (read from /proc; Linux only). */
function findPid(match: (cmdline: string) => boolean): number | null {
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue
      try {
        const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()
        if (match(cmd)) return Number(d)
      } catch {
        /* gone */
      }
    }
  } catch {
    /* no /proc */
  }
  return null
}

export interface ParleyNode {
  id: string
  url: string
  port: number
  child: ChildProcess
  /** Set when the process exited; `expected` when we stopped or killed it. */
  exit: { code: number | null; signal: string | null; expected: boolean } | null
  expectExit: boolean
  stderrTail: string
  /** ws://… of the inspector, with `inspect`. */
  inspectorUrl: string | null
}

export const BENCH_NODE_ENV = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  // Load-generator users send far above the production default of 30 per 10 s.
  SEND_RATE_LIMIT: '100000000',
  // Every bench user registers from 127.0.0.1.
  REGISTER_RATE_LIMIT_IP: '100000000',
  ROOM_ACTION_RATE_LIMIT: '100000000',
  LOGIN_RATE_LIMIT_IP: '100000000',
  LOGIN_RATE_LIMIT_USER: '100000000',
  // Registering thousands of users must not take minutes: the cheapest argon2 the server accepts (bench only!).
  ARGON2_MEMORY_KIB: '1024',
  ARGON2_TIME_COST: '1',
  MAX_CONCURRENT_HASHES: '8',
  // Abuse limits sized for people, not for one load generator on 127.0.0.1 holding thousands of sockets.
  WS_MAX_PER_IP: '1000000',
  WS_MAX_PER_USER: '1000000',
  WS_RATE_LIMIT: '100000000',
  // A CPU-starved load generator must not be cut off as a slow consumer (that would hide latency as loss).
  WS_MAX_BUFFERED_BYTES: String(256 * 1024 * 1024),
  WS_SLOW_CONSUMER_MS: '600000',
} as const

export async function startNode(opts: { id: string; mongoUrl: string; redisUrl: string; inspect?: boolean; extraEnv?: Record<string, string> }): Promise<ParleyNode> {
  const port = await freePort()
  const args: string[] = []
  if (opts.inspect) args.push('--inspect=127.0.0.1:0')
  args.push(serverMain)
  const child = track(
    spawn(process.execPath, args, {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        ...BENCH_NODE_ENV,
        PORT: String(port),
        HOST: '127.0.0.1',
        MONGODB_URL: opts.mongoUrl,
        REDIS_URL: opts.redisUrl,
        NODE_ID: opts.id,
        ...opts.extraEnv,
      },
    }),
  )
  const node: ParleyNode = { id: opts.id, url: `http://127.0.0.1:${port}`, port, child, exit: null, expectExit: false, stderrTail: '', inspectorUrl: null }
  child.stderr!.on('data', (b: Buffer) => {
    node.stderrTail = (node.stderrTail + b.toString()).slice(-4000)
    node.inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(node.stderrTail)?.[1] ?? null
  })
  child.once('exit', (code, signal) => (node.exit = { code, signal, expected: node.expectExit }))
  const deadline = Date.now() + 60_000
  for (;;) {
    if (node.exit) throw new Error(`node ${opts.id} exited during start-up (${node.exit.code ?? node.exit.signal}): ${node.stderrTail}`)
    try {
      const r = await fetch(`${node.url}/readyz`)
      if (r.ok) break
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`node ${opts.id} not ready after 60 s: ${node.stderrTail}`)
    await sleep(100)
  }
  return node
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  child.kill(signal)
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(t)
}

export async function stopNode(node: ParleyNode): Promise<void> {
  node.expectExit = true
  await stopChild(node.child)
}

/** kill -9: a crash, as far as the clients can tell. */
export async function killNode(node: ParleyNode): Promise<void> {
  node.expectExit = true
  await stopChild(node.child, 'SIGKILL')
}

export type Metrics = Map<string, number>

/** A node's /metrics, one number per metric name (labelled samples summed). */
export async function scrape(node: ParleyNode): Promise<Metrics> {
  const text = await (await fetch(`${node.url}/metrics`)).text()
  const m: Metrics = new Map()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const sp = line.lastIndexOf(' ')
    const key = line.slice(0, sp)
    const value = Number(line.slice(sp + 1))
    if (!Number.isFinite(value)) continue
    // Samples carry labels (e.g. a default {node="…"}, or {procedure="…"}): sum them per metric name.
    const name = key.includes('{') ? key.slice(0, key.indexOf('{')) : key
    m.set(name, (m.get(name) ?? 0) + value)
  }
  return m
}

/** A /proc file's text; null where there is none (a process gone, not Linux). */
function readProc(file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return null
  }
}

const CLK_TCK = 100
/** user+system CPU seconds of a process, from /proc/<pid>/stat. */
export function procCpuSeconds(pid: number | null | undefined): number {
  const stat = pid ? readProc(`/proc/${pid}/stat`) : null
  if (!stat) return 0
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}

/**
 * Connections the kernel dropped because a listener's accept queue was full
 * (TcpExt ListenOverflows in /proc/net/netstat; machine-wide, so on this
 * loopback topology it counts the nodes' listeners). A dropped attempt is
 * retried by the client's TCP stack only after 1, 3, 7… s. Null without /proc.
 */
export function listenOverflows(netstat = readProc('/proc/net/netstat')): number | null {
  const [names, values] = (netstat ?? '').split('\n').filter((l) => l.startsWith('TcpExt:'))
  const i = names?.split(/\s+/).indexOf('ListenOverflows') ?? -1
  const v = i > 0 ? Number(values?.split(/\s+/)[i]) : NaN
  return Number.isFinite(v) ? v : null
}

/** Machine-wide busy and total jiffies (from /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const line = readProc('/proc/stat')?.split('\n')[0]
  if (!line) return { busy: 0, total: 0 }
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = (v[3] ?? 0) + (v[4] ?? 0)
  const total = v.reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}
