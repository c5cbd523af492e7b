/**
 * The orchestrator's side of a forked load-generator process: commands go
 * out over the fork() IPC channel with a request id, and each reply
 * (`{ rid, ok, data | error }`) settles the call that sent it.
 */
import type { ChildProcess } from 'node:child_process'

export interface Reply {
  rid: number
  ok: boolean
  data?: unknown
  error?: string
}

export class WorkerProcess<C extends object> {
  private rid = 0
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  exited = false
  constructor(readonly child: ChildProcess) {
    child.on('message', (m: Reply) => {
      const w = this.waiting.get(m.rid)
      if (!w) return
      this.waiting.delete(m.rid)
      if (m.ok) w.resolve(m.data)
      else w.reject(new Error(`load generator: ${m.error}`))
    })
    child.once('exit', (code) => {
      this.exited = true
      for (const w of this.waiting.values()) w.reject(new Error(`load generator exited (${code})`))
      this.waiting.clear()
    })
  }
  call<T>(cmd: C): Promise<T> {
    const rid = ++this.rid
    return new Promise<T>((resolve, reject) => {
      if (this.exited) return reject(new Error('load generator is gone'))
      this.waiting.set(rid, { resolve: resolve as (v: unknown) => void, reject })
      this.child.send({ ...cmd, rid })
    })
  }
}

/** The worker's side: answers each command with the same rid. */
export function serveCommands<C extends { t: string }>(handle: (cmd: C) => Promise<unknown> | unknown): void {
  process.on('message', (req: C & { rid: number }) => {
    Promise.resolve()
      .then(() => handle(req))
      .then(
        (data) => process.send!({ rid: req.rid, ok: true, data } satisfies Reply),
        (err: unknown) => process.send!({ rid: req.rid, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Reply),
      )
  })
  // The orchestrator is gone: nothing is left to measure for.
  process.on('disconnect', () => process.exit(0))
}
