/** Shared bits of the multi-node tests: typed clients against a cluster's nodes. */
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AppRouter } from '@parley/api'
import { createClient, startCluster, type Cluster, type ClusterNode, type Collected, type CookieJar, type StartClusterOptions } from '@parley/testing'
import type { RoomStreamEvent } from '@parley/schemas'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'
import type { ApiClient } from '../factory.ts'
import { range, seqsOf } from '../helpers.ts'

export type User = { id: string; username: string; displayName: string }

/** Clients created by a test file, closed in its afterAll. */
export class Clients {
  private readonly all: ApiClient[] = []

  /** A client of `node`; pass another client's jar to be the same signed-in user there. */
  on(node: ClusterNode, jar?: CookieJar): ApiClient {
    const c = createClient<AppRouter>(node.url, { jar: jar ? { cookie: jar.cookie } : undefined })
    this.all.push(c)
    return c
  }

  async signUp(node: ClusterNode): Promise<ApiClient & { user: User }> {
    const c = this.on(node)
    const { user } = await c.trpc.auth.register.mutate({ username: `u_${randomBytes(6).toString('hex')}`, password: 'correct horse battery' })
    return Object.assign(c, { user })
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all.splice(0).map((c) => c.close().catch(() => {})))
  }
}

/** The client's WebSocket states from now on (the current one first) and how often it started (re)connecting. */
export function countConnects(client: ApiClient): { readonly connects: number; readonly states: string[]; stop(): void } {
  const states: string[] = []
  let connects = 0
  const sub = client.ws.connectionState.subscribe({
    next(s) {
      states.push(s.state)
      if (s.state === 'connecting') connects++
    },
  })
  return {
    get connects() {
      return connects
    },
    states,
    stop: () => sub.unsubscribe(),
  }
}

export async function readyz(node: ClusterNode): Promise<{ status: number; body: { ok: boolean; down: Record<string, string> } }> {
  const res = await fetch(`${node.url}/readyz`, { signal: AbortSignal.timeout(2000) })
  return { status: res.status, body: (await res.json()) as { ok: boolean; down: Record<string, string> } }
}

/**
 * Polls `probe` until it returns a value (not undefined or false) and returns it; fails after `timeoutMs`,
 * or at once when the probe throws (Stream.reached relies on that). Not vi.waitFor, which retries a throwing
 * callback until the timeout, nor vi.waitUntil, whose timeout error does not say what was awaited.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** True when `seqs` has no value twice. */
export const duplicates = (seqs: number[]): number[] => seqs.filter((s, i) => seqs.indexOf(s) !== i)

export interface Stream {
  /** Acknowledged messages, in the order their sends resolved. */
  acked: { id: string; seq: number }[]
  /** Resolves when the stream is over (rejects on the first failed send). */
  done: Promise<{ id: string; seq: number }[]>
  /** At least `n` acknowledged so far; throws at once if a send failed (for waitFor probes). */
  reached(n: number): boolean
}

/**
 * One sender streaming messages: at least `min` of them, and (when given) on
 * until `until` resolved, then `tail` more. Sequential, like one busy client.
 */
export function stream(send: (i: number) => Promise<{ id: string; seq: number }>, opts: { min: number; until?: Promise<unknown>; tail?: number }): Stream {
  const acked: { id: string; seq: number }[] = []
  let failure: unknown
  let over = !opts.until
  void opts.until?.then(
    () => (over = true),
    () => (over = true),
  )
  const done = (async () => {
    let i = 0
    const one = async (): Promise<void> => {
      const m = await send(i++)
      acked.push({ id: m.id, seq: m.seq })
    }
    while (i < opts.min || !over) await one()
    for (let k = 0; k < (opts.tail ?? 0); k++) await one()
    return acked
  })()
  // Reported through reached() and done; never an unhandled rejection.
  done.catch((err: unknown) => (failure = err ?? new Error('send failed')))
  return {
    acked,
    done,
    reached(n) {
      if (failure) throw failure
      return acked.length >= n
    },
  }
}

/** After a failed test, print what the nodes logged (warnings and errors) to explain it. */
export function nodeLogs(nodes: readonly ClusterNode[]): string {
  return nodes.map((n) => `--- ${n.id} (${n.running ? `pid ${n.pid}` : 'stopped'}) ---\n${n.output().trim() || '(no output)'}`).join('\n')
}

/**
 * A TCP proxy in front of Redis for one node: `cut()` resets its connections
 * and refuses new ones (that node alone loses Redis; the others keep theirs)
 * until `restore()`.
 */
export async function redisProxy(targetPort: number): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  let refusing = false
  const server = net.createServer((client) => {
    if (refusing) return void client.destroy()
    const upstream = net.connect(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    url: `redis://127.0.0.1:${port}`,
    cut() {
      refusing = true
      for (const s of sockets) s.destroy()
    },
    restore() {
      refusing = false
    },
    async close() {
      refusing = true
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

type Acked = { id: string; seq: number }

/** Every subscriber ends with exactly the acknowledged messages: each once, in seq order, no gaps. */
export async function expectEverythingOnce(subs: Collected<RoomStreamEvent>[], ackedInAnyOrder: Acked[], timeoutMs = 20_000) {
  const acked = [...ackedInAnyOrder].sort((a, b) => a.seq - b.seq)
  const first = acked[0]!.seq
  const last = acked.at(-1)!.seq
  expect(acked.map((m) => m.seq)).toEqual(range(first, last))
  for (const s of subs) {
    await s.until((e) => seqsOf(e).includes(last), timeoutMs)
    const seqs = seqsOf(s.items)
    expect(duplicates(seqs)).toEqual([])
    expect(seqs).toEqual(range(first, last))
    expect(s.items.flatMap((e) => (e.type === 'message.created' ? [e.message.id] : []))).toEqual(acked.map((m) => m.id))
    expect(s.errors).toEqual([])
  }
}

/**
 * One cluster for the whole test file: started before the first test, its
 * clients and processes stopped after the last, node logs printed when a test
 * fails. Its parts are getters, to read in tests and in hooks registered
 * after this call: `A` and `B` are the first and second node.
 */
export function useCluster(options: StartClusterOptions) {
  let started: Cluster | undefined
  const clients = new Clients()
  beforeAll(async () => {
    started = await startCluster(options)
  })
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail' && started) console.error(nodeLogs(started.nodes))
  })
  afterAll(async () => {
    await clients.closeAll()
    await started?.stop()
  })
  const cluster = (): Cluster => {
    if (!started) throw new Error('the cluster is not started yet')
    return started
  }
  const node = (i: number): ClusterNode => {
    const n = cluster().nodes[i]
    if (!n) throw new Error(`the cluster has no node ${i + 1}`)
    return n
  }
  return {
    clients,
    get A(): ClusterNode {
      return node(0)
    },
    get B(): ClusterNode {
      return node(1)
    },
    get redis(): Cluster['redis'] {
      return cluster().redis
    },
    get mongoUrl(): string {
      return cluster().mongoUrl
    },
  }
}
