/**
 * A real, throw-away redis-server for tests: free port, no persistence,
 * loopback only. `kill()` + `start()` (or `restart()`) keep the same port so a
 * client under test sees an outage and a recovery, not a different server.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { onFreePorts } from './ports.ts'

export interface StartRedisOptions {
  /** Path of the binary; default `redis-server` on PATH (/usr/bin/redis-server). */
  bin?: string
  /** Extra server arguments, e.g. `['--maxmemory', '10mb']`. */
  args?: readonly string[]
  /** How long to wait for PING to answer; default 10 s. */
  startTimeoutMs?: number
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  readonly port: number
  /** Stop for good (SIGTERM, then SIGKILL if it lingers). */
  stop(): Promise<void>
  /** SIGKILL, like a crash: clients see their connections reset. */
  kill(): Promise<void>
  /** Start again on the same port (after kill); resolves once it answers PING. */
  start(): Promise<void>
  /** kill() then start(). */
  restart(): Promise<void>
}

const running = new Set<ChildProcess>()
// A test run that dies half-way must not leave servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServer> {
  const bin = opts.bin ?? 'redis-server'
  const timeoutMs = opts.startTimeoutMs ?? 10_000
  let child: ChildProcess | undefined

  const launch = async (port: number): Promise<void> => {
    const args = ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1', ...(opts.args ?? [])]
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4000)
    }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    running.add(proc)
    let exited = false
    proc.once('exit', () => {
      exited = true
      running.delete(proc)
    })
    proc.once('error', (err) => {
      exited = true
      output += String(err)
    })
    child = proc
    const deadline = Date.now() + timeoutMs
    while (!(await ping(port))) {
      if (exited) throw new Error(`redis-server exited on port ${port}: ${output.trim()}`)
      if (Date.now() > deadline) {
        await terminate(proc, 'SIGKILL')
        throw new Error(`redis-server did not answer PING on port ${port} within ${timeoutMs} ms: ${output.trim()}`)
      }
      await sleep(20)
    }
  }

  // Again on another port if this one was taken before redis bound it (any
  // failure: redis-server says so only in its log).
  const port = await onFreePorts(1, async ([port]) => {
    await launch(port!)
    return port!
  })

  const kill = async (): Promise<void> => {
    if (child) await terminate(child, 'SIGKILL')
    child = undefined
  }
  const start = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) return
    await launch(port)
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    start,
    restart: async () => {
      await kill()
      await start()
    },
    stop: async () => {
      if (child) await terminate(child, 'SIGTERM')
      child = undefined
    },
  }
}

async function terminate(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  const exited = once(proc, 'exit')
  proc.kill(signal)
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** True when a server on `port` answers an inline PING with +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    let reply = ''
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      // A server still loading its dataset answers -LOADING; keep waiting.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
