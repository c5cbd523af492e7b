/**
 * Lua scripts run by EVALSHA, falling back to EVAL when the server doesn't
 * know them (first use, or after a Redis restart flushed the script cache).
 * Scripts keep each read-modify-write atomic on the server, so several nodes
 * can race without locks.
 */
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { TurnBatch } from './turn-batch.ts'

type Arg = string | number

export class LuaScript {
  readonly sha: string

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex')
  }

  async run(redis: Redis, keys: readonly string[], args: readonly Arg[] = []): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!isNoScript(err)) throw err
      return redis.eval(this.lua, keys.length, ...keys, ...args)
    }
  }

  /** Like `run`, in the same write as the other commands of this event-loop turn (turn-batch.ts). */
  async runBatched(turn: TurnBatch, keys: readonly string[], args: readonly Arg[] = []): Promise<unknown> {
    try {
      return await turn.call('evalsha', [this.sha, keys.length, ...keys, ...args])
    } catch (err) {
      if (!isNoScript(err)) throw err
      return turn.call('eval', [this.lua, keys.length, ...keys, ...args])
    }
  }

  /**
   * Many calls in one round trip (a pipeline). Each result is the reply or the
   * Error of that call. After NOSCRIPT the script is loaded and the batch retried once.
   */
  async runMany(redis: Redis, calls: ReadonlyArray<{ keys: readonly string[]; args: readonly Arg[] }>): Promise<unknown[]> {
    if (calls.length === 0) return []
    const exec = async (): Promise<unknown[]> => {
      const pipeline = redis.pipeline()
      for (const { keys, args } of calls) pipeline.evalsha(this.sha, keys.length, ...keys, ...args)
      const results = (await pipeline.exec()) ?? []
      return results.map(([err, reply]) => err ?? reply)
    }
    const first = await exec()
    if (!first.some(isNoScript)) return first
    await redis.script('LOAD', this.lua)
    return exec()
  }
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT')
}

/** Server time in ms, so expiry scores don't depend on each node's clock. */
export const LUA_NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`
