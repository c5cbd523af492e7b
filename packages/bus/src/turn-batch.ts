/**
 * The hot paths' Redis commands (the rate-limit script, the publish, a
 * stream's presence connect and release), with the ones issued during one
 * event-loop turn sent in one write: a pipeline
 * of all of them, one syscall and one read of the replies instead of one
 * each. Under load, the sends handled in one turn share it (and their
 * replies come back together, so their next steps fall into one turn too).
 *
 * Like ioredis' `enableAutoPipelining`, but a command alone in its turn goes
 * out as a plain command: a pipeline for one command costs more than it
 * saves, and at low load that is every command. Nor does it hold commands
 * back while an earlier pipeline is in flight.
 *
 * Each caller gets its own reply or error, exactly as from the command
 * itself (NOSCRIPT included, so LuaScript's EVAL fallback works unchanged).
 */
import type { Redis } from 'ioredis'

type Arg = string | number

interface Queued {
  command: string
  args: Arg[]
  resolve: (reply: unknown) => void
  reject: (err: unknown) => void
}

export interface TurnBatch {
  call(command: string, args: Arg[]): Promise<unknown>
  /** Sends what is queued now instead of at the end of the turn (before QUIT on close). */
  flush(): void
}

export function createTurnBatch(redis: Redis): TurnBatch {
  let queue: Queued[] = []

  const flush = (): void => {
    const batch = queue
    if (batch.length === 0) return
    queue = []
    if (batch.length === 1) {
      const only = batch[0] as Queued
      redis.call(only.command, ...only.args).then(only.resolve, only.reject)
      return
    }
    const pipeline = redis.pipeline()
    for (const q of batch) pipeline.call(q.command, ...q.args)
    pipeline.exec().then(
      (results) => {
        batch.forEach((q, i) => {
          const [err, reply] = results?.[i] ?? [new Error('redis: no reply in pipeline'), null]
          if (err) q.reject(err)
          else q.resolve(reply)
        })
      },
      (err: unknown) => {
        for (const q of batch) q.reject(err)
      },
    )
  }

  return {
    call(command, args) {
      return new Promise((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush)
        queue.push({ command, args, resolve, reject })
      })
    },
    flush,
  }
}
