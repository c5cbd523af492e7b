import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './factory.ts'
import { routerProcedures } from './helpers.ts'

/**
 * Hostile and random JSON against every procedure over plain HTTP: no input
 * may produce a 500, and a call that fails writes nothing.
 */
let server: TestServer
let cookie: string
let roomId: string
let messageId: string

// Every procedure of the router, so a new one is fuzzed without a line here;
// but not the two that end the session every later call would then make
// signed out (they take no input: their parsers have nothing to fuzz).
const ENDS_THE_SESSION = new Set(['auth.logout', 'auth.logoutAll'])
// Called signed out, as a browser does: a random name and password that make a
// valid sign-up would otherwise end the session the later calls are made with
// (a sign-in replaces the one the browser held).
const SIGNS_IN = new Set(['auth.register', 'auth.login'])
const PROCEDURES = routerProcedures().filter(([path, procedure]) => procedure._def.type !== 'subscription' && !ENDS_THE_SESSION.has(path))
const MUTATIONS = PROCEDURES.filter(([, procedure]) => procedure._def.type === 'mutation').map(([path]) => path)
const QUERIES = PROCEDURES.filter(([, procedure]) => procedure._def.type === 'query').map(([path]) => path)
const ALLOWED = new Set(['BAD_REQUEST', 'NOT_FOUND', 'FORBIDDEN', 'CONFLICT', 'UNAUTHORIZED', 'TOO_MANY_REQUESTS', 'PAYLOAD_TOO_LARGE', 'METHOD_NOT_SUPPORTED', 'UNSUPPORTED_MEDIA_TYPE'])

beforeAll(async () => {
  server = await startTestServer({ LOGIN_RATE_LIMIT_IP: '100000', LOGIN_RATE_LIMIT_USER: '100000' })
  const u = await server.signUp()
  cookie = u.jar.cookie!
  const room = await u.trpc.rooms.create.mutate({ name: 'fuzz', visibility: 'public' })
  roomId = room.id
  messageId = (await u.trpc.messages.send.mutate({ roomId, clientId: 'c1', body: 'seed' })).id
})
afterAll(() => server.stop())

async function totalDocuments(): Promise<number> {
  const c = server.database.collections
  const counts = await Promise.all(Object.values(c).map((coll) => coll.countDocuments({})))
  return counts.reduce((a, b) => a + b, 0)
}

async function call(path: string, input: unknown, mutation: boolean) {
  const url = `${server.url}/trpc/${path}`
  const headers = { ...(SIGNS_IN.has(path) ? {} : { cookie }), 'content-type': 'application/json' }
  const res = mutation
    ? await fetch(url, { method: 'POST', headers, body: input === undefined ? '' : JSON.stringify(input) })
    : await fetch(`${url}?input=${encodeURIComponent(JSON.stringify(input) ?? '')}`, { headers })
  const body = (await res.json().catch(() => null)) as { error?: { data?: { code?: string } } } | null
  return { status: res.status, code: body?.error?.data?.code }
}

const nasty = fc.oneof(
  fc.anything({ maxDepth: 4 }),
  fc.constant({ $gt: '' }),
  fc.record({ roomId: fc.oneof(fc.constant({ $ne: null }), fc.string(), fc.stringMatching(/^[0-9a-f]{24}$/)) }),
  fc.record({ messageId: fc.oneof(fc.constant({ $exists: true }), fc.constant('0'.repeat(24))), body: fc.string(), emoji: fc.string(), on: fc.anything() }),
  fc.record({ username: fc.oneof(fc.constant({ $regex: '.*' }), fc.string({ maxLength: 10_000 })), password: fc.anything() }),
  fc.constant({ name: 'x'.repeat(100_000) }),
  fc.constant(JSON.parse('{"a":'.repeat(200) + '1' + '}'.repeat(200))),
  fc.record({ roomId: fc.constantFrom('ROOM'), seq: fc.oneof(fc.double(), fc.string(), fc.constant(-1)), body: fc.oneof(fc.constant(''), fc.constant('   '), fc.string({ minLength: 4001, maxLength: 4100 })), clientId: fc.oneof(fc.constant(''), fc.string({ minLength: 65, maxLength: 70 })) }),
  fc.record({ messageId: fc.constantFrom('MESSAGE'), body: fc.constantFrom('', ' '.repeat(10), 'x'.repeat(4001)), emoji: fc.constantFrom('a.b', '$x', '', 'x'.repeat(40)) }, { requiredKeys: [] }),
)

/** Splice real ids into some inputs so validation passes further and deeper code runs. */
function withRealIds(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input
  const out: Record<string, unknown> = { ...(input as Record<string, unknown>) }
  if (out.roomId === 'ROOM') out.roomId = roomId
  if (out.messageId === 'MESSAGE') out.messageId = messageId
  return out
}

describe('fuzzing the router with hostile JSON', () => {
  it('never answers 500 and never writes when a call fails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MUTATIONS, ...QUERIES), nasty, async (path, raw) => {
        const input = withRealIds(raw)
        const before = await totalDocuments()
        const { status, code } = await call(path, input, MUTATIONS.includes(path))
        expect(status).toBeLessThan(500)
        if (status >= 400) {
          // Oversized URLs are refused by Node's HTTP parser before tRPC sees them.
          if (code === undefined) expect([413, 414, 431]).toContain(status)
          else expect(ALLOWED).toContain(code)
          expect(await totalDocuments()).toBe(before)
        }
      }),
      { numRuns: 400 },
    )
    // Still signed in and still in the room: the runs reached past the session and membership checks.
    expect((await call('rooms.get', { roomId }, false)).status).toBe(200)
  }, 120_000)
})
