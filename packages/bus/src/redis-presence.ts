/**
 * Cluster-wide presence on Redis.
 *
 * Model: `presence:<userId>` is a sorted set with one member per live
 * connection (`<nodeId>:<n>`), scored by its expiry time (Redis server time,
 * so node clocks don't matter). Each node re-scores its own members every
 * heartbeat; a crashed node simply stops, and its members fall below "now".
 * A user is online while any member scores above now.
 *
 * Transitions are announced on the `presence` channel. Who announces is
 * decided atomically by the index `presence:online` (userId → latest expiry):
 * the script that *adds* a user to it announces online, the one that *removes*
 * it announces offline — release of the last connection, or the periodic
 * sweep, run by every node, that finds index entries whose expiry has passed
 * and whose user has no live member left. Being a ZREM claim inside a script,
 * this needs no lock and several nodes sweeping at once can't both win.
 */
import type { Redis } from 'ioredis'
import type { Presence, PresenceChange } from './types.ts'
import type { Callbacks } from './handlers.ts'
import { LUA_NOW, LuaScript } from './lua.ts'
import type { TurnBatch } from './turn-batch.ts'

const INDEX_KEY = 'presence:online'
const userKey = (userId: string): string => `presence:${userId}`

/** KEYS: user key, index. ARGV: ttlMs, userId, member... → 1 when the user just came online. */
const TOUCH = new LuaScript(`${LUA_NOW}
local exp = now + tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], exp, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('ZADD', KEYS[2], 'GT', exp, ARGV[2])
`)

/** KEYS: user key, index. ARGV: member, userId → 1 when the user just went offline. */
const RELEASE = new LuaScript(`${LUA_NOW}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
return redis.call('ZREM', KEYS[2], ARGV[2])
`)

/** KEYS: index. ARGV: max → users whose latest known expiry has passed. */
const CANDIDATES = new LuaScript(`${LUA_NOW}
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
`)

/** KEYS: user key, index. ARGV: userId → 1 when this caller claimed the offline transition. */
const EXPIRE = new LuaScript(`${LUA_NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #top > 0 then
  -- Still online (the index lagged): move its expiry forward instead.
  redis.call('ZADD', KEYS[2], 'GT', top[2], ARGV[1])
  return 0
end
return redis.call('ZREM', KEYS[2], ARGV[1])
`)

/** KEYS: user keys → number of live members of each. */
const COUNT = new LuaScript(`${LUA_NOW}
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('ZCOUNT', key, '(' .. now, '+inf') end
return out
`)

const SWEEP_BATCH = 500

export interface RedisPresence {
  presence: Presence
  /** Heartbeat: push this node's members' expiry forward. */
  refresh(): Promise<void>
  /** Announce offline for users whose connections all expired (crashed nodes). */
  sweep(): Promise<void>
}

export interface RedisPresenceOptions {
  redis: Redis
  /** Connects and releases issued in one turn share a write (a crowd reconnecting: one per turn, not one per client). */
  turn: TurnBatch
  nodeId: string
  ttlMs: number
  /** Publishes a transition on the bus (delivered locally and to other nodes). */
  announce(change: PresenceChange): void
  changes: Callbacks<[PresenceChange]>
  onError(err: unknown): void
}

export function createRedisPresence({ redis, turn, nodeId, ttlMs, announce, changes, onError }: RedisPresenceOptions): RedisPresence {
  // This node's live connections: userId → members. The truth for refresh, and
  // the fallback answer for online() while Redis is unreachable.
  const local = new Map<string, Set<string>>()
  let seq = 0

  const touch = (userId: string, members: Iterable<string>) => ({
    keys: [userKey(userId), INDEX_KEY],
    args: [ttlMs, userId, ...members],
  })

  const presence: Presence = {
    async connect(userId) {
      const member = `${nodeId}:${++seq}`
      let members = local.get(userId)
      if (!members) local.set(userId, (members = new Set()))
      members.add(member)
      try {
        const { keys, args } = touch(userId, [member])
        if ((await TOUCH.runBatched(turn, keys, args)) === 1) announce({ userId, status: 'online' })
      } catch (err) {
        // Kept locally: the next refresh after Redis is back writes (and announces) it.
        onError(err)
      }
      let released = false
      return async () => {
        if (released) return
        released = true
        const set = local.get(userId)
        set?.delete(member)
        if (set?.size === 0) local.delete(userId)
        try {
          if ((await RELEASE.runBatched(turn, [userKey(userId), INDEX_KEY], [member, userId])) === 1) announce({ userId, status: 'offline' })
        } catch (err) {
          // The member expires by itself; some node's sweep announces offline then.
          onError(err)
        }
      }
    },

    async online(userIds) {
      const ids = [...new Set(userIds)]
      if (ids.length === 0) return new Set()
      try {
        const counts = (await COUNT.run(redis, ids.map(userKey))) as number[]
        return new Set(ids.filter((_, i) => (counts[i] ?? 0) > 0))
      } catch (err) {
        // Degraded answer while Redis is down: who is connected to this node.
        onError(err)
        return new Set(ids.filter((id) => local.has(id)))
      }
    },

    onChange: (handler) => changes.add(handler),
  }

  return {
    presence,

    async refresh() {
      const users = [...local.keys()]
      if (users.length === 0) return
      // Sets are deleted when empty, so every user here has at least one member.
      const results = await TOUCH.runMany(
        redis,
        users.map((userId) => touch(userId, local.get(userId) ?? [])),
      )
      results.forEach((result, i) => {
        if (result instanceof Error) onError(result)
        // 1 = back from the dead: someone announced offline while we were cut off.
        else if (result === 1) announce({ userId: users[i]!, status: 'online' })
      })
    },

    async sweep() {
      const candidates = (await CANDIDATES.run(redis, [INDEX_KEY], [SWEEP_BATCH])) as string[]
      const results = await EXPIRE.runMany(
        redis,
        candidates.map((userId) => ({ keys: [userKey(userId), INDEX_KEY], args: [userId] })),
      )
      results.forEach((result, i) => {
        if (result instanceof Error) onError(result)
        else if (result === 1) announce({ userId: candidates[i]!, status: 'offline' })
      })
    },
  }
}
