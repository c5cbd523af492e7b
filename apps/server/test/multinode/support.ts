/** Shared bits of the multi-node tests: typed clients against a cluster's nodes. */
import { randomBytes } from 'node:crypto'
import type { AppRouter } from '@parley/api'
import { createClient, type ClusterNode, type CookieJar } from '@parley/testing'
import type { ApiClient } from '../factory.ts'

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

/** How many times the client's WebSocket (re)started connecting. */
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

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** True when `seqs` has no value twice. */
export const duplicates = (seqs: number[]): number[] => seqs.filter((s, i) => seqs.indexOf(s) !== i)

export interface Stream {
  /** Acknowledged messages, in the order their sends resolved. */
  acked: { id: string; seq: number }[]
  /** Resolves when the stream is over (rejects on the first failed send). */
  done: Promise<{ id: string; seq: number }[]>
}

/**
 * One sender streaming messages: at least `min` of them, and (when given) on
 * until `until` resolved, then `tail` more. Sequential, like one busy client.
 */
export function stream(send: (i: number) => Promise<{ id: string; seq: number }>, opts: { min: number; until?: Promise<unknown>; tail?: number }): Stream {
  const acked: { id: string; seq: number }[] = []
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
  return { acked, done }
}
