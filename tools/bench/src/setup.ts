/**
 * Creates the bench population over tRPC HTTP (plain JSON, no transformer):
 * users (auth.register, keeping the session cookie), rooms of mixed sizes
 * (rooms.create by one member, rooms.join by the others), each user homed
 * on one node so that a room's members are spread over both nodes.
 */
import { pool } from './conn.ts'
import type { Options } from './options.ts'
import type { RoomSpec, UserSpec } from './protocol.ts'

export class TrpcHttpError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(`${path}: ${code} ${message}`)
  }
}

export async function trpcCall<T>(baseUrl: string, path: string, input: unknown, cookie: string | null, kind: 'query' | 'mutation'): Promise<{ data: T; cookie: string | null }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (cookie) headers.cookie = cookie
  const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`
  const url = kind === 'query' ? `${baseUrl}/trpc/${path}${query}` : `${baseUrl}/trpc/${path}`
  const res = await fetch(url, kind === 'query' ? { headers } : { method: 'POST', headers, body: JSON.stringify(input) })
  const body = (await res.json()) as { result?: { data: T }; error?: { message: string; data?: { code?: string } } }
  if (body.error || !body.result) throw new TrpcHttpError(path, body.error?.data?.code ?? String(res.status), body.error?.message ?? '')
  let next = cookie
  for (const set of res.headers.getSetCookie()) {
    const pair = set.split(';')[0]
    if (pair && !pair.endsWith('=')) next = pair
  }
  return { data: body.result.data, cookie: next }
}

export interface Population {
  users: UserSpec[]
  rooms: RoomSpec[]
  /** A member's cookie per room, to read the room's seq. */
  roomReader: string[]
}

export interface PopulationOptions extends Pick<Options, 'users' | 'smallRooms' | 'smallMin' | 'smallMax' | 'bigRooms' | 'bigSize'> {
  nodes: string[]
  runId: string
  concurrency: number
  progress: (what: string, done: number, total: number) => void
}

/** Deterministic PRNG so a run's population is reproducible. */
function mulberry32(seed: number) {
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Each room's members (user indices): small rooms of smallMin..smallMax random users, then big rooms of bigSize; the same for the same options. */
export function roomMemberLists(o: Omit<PopulationOptions, 'nodes' | 'runId' | 'concurrency' | 'progress'>): number[][] {
  const rnd = mulberry32(9)
  const memberLists: number[][] = []
  const pickMembers = (n: number): number[] => {
    const set = new Set<number>()
    n = Math.min(n, o.users)
    while (set.size < n) set.add(Math.floor(rnd() * o.users))
    return [...set]
  }
  for (let r = 0; r < o.smallRooms; r++) memberLists.push(pickMembers(o.smallMin + Math.floor(rnd() * (o.smallMax - o.smallMin + 1))))
  for (let r = 0; r < o.bigRooms; r++) memberLists.push(pickMembers(o.bigSize))
  return memberLists
}

export async function createPopulation(o: PopulationOptions): Promise<Population> {
  const users: UserSpec[] = Array.from({ length: o.users }, (_, i) => ({ i, cookie: '', node: i % o.nodes.length, rooms: [] }))
  const memberLists = roomMemberLists(o)

  let done = 0
  await pool(users, o.concurrency, async (u) => {
    const node = o.nodes[u.node]!
    const { cookie } = await trpcCall(node, 'auth.register', { username: `b${o.runId}_${u.i}`, password: 'bench-password-1' }, null, 'mutation')
    if (!cookie) throw new Error('auth.register set no cookie')
    u.cookie = cookie
    o.progress('register', ++done, users.length)
  })

  const rooms: RoomSpec[] = []
  const roomReader: string[] = []
  done = 0
  const creates = memberLists.map((members, r) => ({ members, r }))
  await pool(creates, o.concurrency, async ({ members, r }) => {
    const owner = users[members[0]!]!
    const { data } = await trpcCall<{ id: string }>(o.nodes[owner.node]!, 'rooms.create', { name: `bench ${r}`, visibility: 'public' }, owner.cookie, 'mutation')
    rooms[r] = { id: data.id, size: members.length }
    roomReader[r] = owner.cookie
    o.progress('rooms', ++done, creates.length)
  })

  const joins = memberLists.flatMap((members, r) => members.slice(1).map((m) => ({ m, r })))
  done = 0
  await pool(joins, o.concurrency, async ({ m, r }) => {
    const u = users[m]!
    await trpcCall(o.nodes[u.node]!, 'rooms.join', { roomId: rooms[r]!.id }, u.cookie, 'mutation')
    o.progress('join', ++done, joins.length)
  })
  memberLists.forEach((members, r) => members.forEach((m) => users[m]!.rooms.push(r)))
  return { users, rooms, roomReader }
}

/** Every room's latest seq, read through `node`. */
export async function roomSeqs(node: string, pop: Population): Promise<number[]> {
  const seqs: number[] = []
  await pool(pop.rooms, 16, async (room, r) => {
    const { data } = await trpcCall<{ seq: number }>(node, 'rooms.get', { roomId: room.id }, pop.roomReader[r]!, 'query')
    seqs[r] = data.seq
  })
  return seqs
}
