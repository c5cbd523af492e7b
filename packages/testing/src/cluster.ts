/**
 * A Parley cluster on loopback for multi-node tests: a real redis-server, ONE
 * shared embedded MongoDB-wire server (its own process, as several nodes
 * would share it in production), and N Parley server *processes*
 * (`node --import tsx apps/server/src/main.ts`), each on its own port.
 *
 * Nodes can be killed (SIGKILL = a crash, SIGTERM = graceful) and started
 * again on the same port, like a machine behind a load balancer. Every child
 * is killed when the test process exits, even after a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { onFreePorts, portTaken } from './ports.ts'
import { startRedis, type RedisServer } from './redis.ts'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const SERVER_DIR = path.join(REPO, 'apps/server')
const SERVER_ENTRY = path.join(SERVER_DIR, 'src/main.ts')
const MONGO_CLI = path.join(REPO, 'packages/embedded-mongo/src/cli.ts')

export interface ClusterNode {
  /** NODE_ID */
  readonly id: string
  /** `http://127.0.0.1:<port>`; stays the same across kill/start. */
  readonly url: string
  readonly port: number
  /** The running process' pid; undefined while stopped. */
  readonly pid: number | undefined
  readonly running: boolean
  /** Signal the process and wait for it to exit. SIGKILL = crash, SIGTERM = graceful shutdown. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /**
   * Start (again) on the same port; resolves once `/readyz` answers 200.
   * `env` overrides this node's environment from now on (e.g. its own REDIS_URL).
   */
  start(env?: Record<string, string>): Promise<void>
  /** The last few KB of the process' stdout/stderr (for failure messages). */
  output(): string
}

export interface StartClusterOptions {
  /** How many Parley nodes; default 2. */
  nodes?: number
  /** Start redis-server and give every node REDIS_URL; default true. */
  redis?: boolean
  /** Extra environment for every node (overrides the defaults). */
  env?: Record<string, string>
  /** How long a node may take to become ready; default 30 s. */
  startTimeoutMs?: number
}

export interface Cluster {
  nodes: ClusterNode[]
  /** undefined when started with `redis: false`. */
  redis: RedisServer | undefined
  /** The shared database, including its (random) database name. */
  mongoUrl: string
  /** Kill every node, Redis and MongoDB. Safe to call twice. */
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

const children = new Set<ChildProcess>()
// A test run that dies half-way must not leave processes behind: children are
// killed when this process exits, and each child also kills itself when it is
// orphaned (its parent was SIGKILLed and could run no exit hook).
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
const ORPHAN_GUARD =
  'data:text/javascript,const p=process.ppid;setInterval(()=>{if(process.ppid!==p)process.kill(process.pid,"SIGKILL")},500).unref()'

interface Spawned {
  proc: ChildProcess
  output: () => string
  exited: Promise<void>
}

function spawnTracked(args: string[], env: Record<string, string>): Spawned {
  // tsx is resolved from apps/server (the working directory), which depends on it.
  const proc = spawn(process.execPath, ['--import', ORPHAN_GUARD, '--import', 'tsx', ...args], {
    cwd: SERVER_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8000)
  }
  proc.stdout?.on('data', keep)
  proc.stderr?.on('data', keep)
  children.add(proc)
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => {
      children.delete(proc)
      resolve()
    })
    proc.once('error', (err) => {
      output += String(err)
      children.delete(proc)
      resolve()
    })
  })
  return { proc, output: () => output, exited }
}

async function terminate(s: Spawned | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!s || s.proc.exitCode !== null || s.proc.signalCode !== null) return
  s.proc.kill(signal)
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), 15_000)
  await s.exited
  clearTimeout(timer)
}

/** The embedded MongoDB-wire server as its own process on a free port (it prints its URL). */
async function startMongo(timeoutMs: number): Promise<{ url: string; stop(): Promise<void> }> {
  const s = spawnTracked([MONGO_CLI, '--port', '0', '--host', '127.0.0.1'], {})
  const deadline = Date.now() + timeoutMs
  let url: string | undefined
  while (!url) {
    url = /mongodb:\/\/127\.0\.0\.1:\d+/.exec(s.output())?.[0]
    if (url) break
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) throw new Error(`embedded-mongo exited: ${s.output()}`)
    if (Date.now() > deadline) {
      await terminate(s, 'SIGKILL')
      throw new Error(`embedded-mongo did not start within ${timeoutMs} ms: ${s.output()}`)
    }
    await sleep(20)
  }
  return { url, stop: () => terminate(s, 'SIGTERM') }
}

export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const count = options.nodes ?? 2
  const startTimeoutMs = options.startTimeoutMs ?? 30_000
  const cleanups: (() => Promise<void>)[] = []
  const stop = async (): Promise<void> => {
    // Nodes first (they hold connections to the others), then the stores.
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
  }
  try {
    const redis = options.redis === false ? undefined : await startRedis()
    if (redis) cleanups.push(() => redis.stop())
    const mongo = await startMongo(startTimeoutMs)
    cleanups.push(() => mongo.stop())
    const mongoUrl = `${mongo.url}/parley_${randomBytes(4).toString('hex')}`
    // Every node starts again on other ports if one was taken before it bound it.
    const nodes = await onFreePorts(
      count,
      async (ports) => {
        const starting = ports.map((port, i) =>
          createNode(`node-${String.fromCharCode(97 + i)}`, port, startTimeoutMs, {
            NODE_ENV: 'test',
            HOST: '127.0.0.1',
            PORT: String(port),
            MONGODB_URL: mongoUrl,
            ...(redis ? { REDIS_URL: redis.url } : {}),
            LOG_LEVEL: 'warn',
            // Cheap hashes in tests only; production uses OWASP's minimum or above.
            ARGON2_MEMORY_KIB: '1024',
            ARGON2_TIME_COST: '1',
            SEND_RATE_LIMIT: '1000000',
            // Every test user signs up from 127.0.0.1.
            REGISTER_RATE_LIMIT_IP: '1000000',
            ROOM_ACTION_RATE_LIMIT: '1000000',
            SHUTDOWN_TIMEOUT_MS: '2000',
            ...options.env,
          }),
        )
        try {
          await Promise.all(starting.map((n) => n.start()))
          return starting
        } catch (err) {
          await Promise.all(starting.map((n) => n.kill('SIGKILL')))
          throw err
        }
      },
      { taken: portTaken },
    )
    cleanups.push(async () => {
      await Promise.all(nodes.map((n) => n.kill('SIGKILL')))
    })
    return { nodes, redis, mongoUrl, stop, [Symbol.asyncDispose]: stop }
  } catch (err) {
    await stop()
    throw err
  }
}

function createNode(id: string, port: number, startTimeoutMs: number, env: Record<string, string>): ClusterNode {
  const url = `http://127.0.0.1:${port}`
  let current: Spawned | undefined
  let lastOutput = ''
  const isRunning = (): boolean => !!current && current.proc.exitCode === null && current.proc.signalCode === null
  return {
    id,
    url,
    port,
    get pid() {
      return isRunning() ? current?.proc.pid : undefined
    },
    get running() {
      return isRunning()
    },
    output: () => current?.output() ?? lastOutput,
    async kill(signal = 'SIGKILL') {
      const s = current
      await terminate(s, signal)
      if (s) lastOutput = s.output()
    },
    async start(overrides) {
      if (isRunning()) throw new Error(`${id} is already running`)
      Object.assign(env, overrides)
      const s = (current = spawnTracked([SERVER_ENTRY], { ...env, NODE_ID: id }))
      const deadline = Date.now() + startTimeoutMs
      for (;;) {
        if (s.proc.exitCode !== null || s.proc.signalCode !== null) throw new Error(`${id} exited during start-up: ${s.output()}`)
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).catch(() => null)
        if (res?.status === 200) return
        await res?.body?.cancel()
        if (Date.now() > deadline) {
          await terminate(s, 'SIGKILL')
          throw new Error(`${id} not ready within ${startTimeoutMs} ms: ${s.output()}`)
        }
        await sleep(50)
      }
    },
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
