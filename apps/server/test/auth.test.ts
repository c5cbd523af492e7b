/**
 * Accounts and sessions end to end: a real server (embedded MongoDB,
 * in-process bus) driven by the real @trpc/client over HTTP (cookie captured
 * from Set-Cookie, sent back as Cookie) and over WebSocket (cookie on the
 * upgrade, or connectionParams.token).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  splitLink,
  TRPCClientError,
  wsLink,
  type TRPCClient,
} from '@trpc/client'
import type { AppRouter } from '@parley/api'
import { ObjectId } from 'mongodb'
import { WebSocket } from 'ws'
import { startTestServer, type TestServer } from './factory.ts'

let server: TestServer
const cleanups: Array<() => unknown> = []
let counter = 0
const uniqueName = (prefix = 'a'): string => `${prefix}${process.pid}_${++counter}`

beforeAll(async () => {
  // The whole file logs in from 127.0.0.1: keep the per-IP limit out of the way (it has its own unit test).
  server = await startTestServer({ LOGIN_RATE_LIMIT_IP: '10000', LOGIN_RATE_LIMIT_USER: '5' })
})
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
  await server?.stop()
})

// ---- clients -----------------------------------------------------------------

interface HttpClient {
  trpc: TRPCClient<AppRouter>
  /** The `name=value` pair to send back, as a browser's cookie jar would. */
  cookie: string | null
  /** Every Set-Cookie header received, raw. */
  setCookies: string[]
}

function httpClient(initialCookie: string | null = null): HttpClient {
  const client: HttpClient = {
    cookie: initialCookie,
    setCookies: [],
    trpc: null as unknown as TRPCClient<AppRouter>,
  }
  const cookieFetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers)
    if (client.cookie) headers.set('cookie', client.cookie)
    const res = await fetch(input, { ...init, headers })
    for (const set of res.headers.getSetCookie()) {
      client.setCookies.push(set)
      const pair = set.split(';')[0]!
      client.cookie = /;\s*max-age=0\b/i.test(set) || pair.endsWith('=') ? null : pair
    }
    return res
  }
  client.trpc = createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: `${server.url}/trpc`, fetch: cookieFetch })],
  })
  return client
}

interface WsClient {
  trpc: TRPCClient<AppRouter>
  /** Every socket the client opened (it reconnects after a close). */
  sockets: WebSocket[]
  closes: number[]
  close(): Promise<void>
}

function wsClient(
  opts: { cookie?: string | null; token?: string; headers?: Record<string, string> } = {},
): WsClient {
  const sockets: WebSocket[] = []
  const closes: number[] = []
  class HeaderWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, {
        headers: { ...opts.headers, ...(opts.cookie ? { cookie: opts.cookie } : {}) },
      })
      sockets.push(this)
      this.once('close', (code) => closes.push(code))
    }
  }
  const ws = createWSClient({
    url: server.wsUrl,
    WebSocket: HeaderWebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: () => 100,
    connectionParams: opts.token ? { token: opts.token } : undefined,
  })
  const trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: ws })] })
  const client: WsClient = { trpc, sockets, closes, close: () => ws.close() }
  cleanups.push(() => ws.close())
  return client
}

/** An HTTP-for-calls, WS-for-subscriptions client sharing one cookie, as the web app is. */
function splitClient(cookie: string) {
  class CookieWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers: { cookie } })
    }
  }
  const ws = createWSClient({
    url: server.wsUrl,
    WebSocket: CookieWebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: () => 100,
  })
  cleanups.push(() => ws.close())
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: ws }),
        false: httpBatchLink({ url: `${server.url}/trpc`, headers: { cookie } }),
      }),
    ],
  })
}

async function rejection(p: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(TRPCClientError)
  return err as TRPCClientError<AppRouter>
}

async function signUp(
  password = 'correct horse battery',
): Promise<HttpClient & { username: string; password: string; userId: string }> {
  const c = httpClient()
  const username = uniqueName()
  const { user } = await c.trpc.auth.register.mutate({ username, password })
  expect(c.cookie).not.toBeNull()
  return Object.assign(c, { username, password, userId: user.id })
}

/** Watches a subscription: resolves `ended` with how it ended. */
function watch(
  subscribe: (h: {
    onStarted: () => void
    onData: (d: unknown) => void
    onError: (e: unknown) => void
    onComplete: () => void
  }) => { unsubscribe(): void },
) {
  let started!: () => void
  let ended!: (how: string) => void
  const result = {
    data: [] as unknown[],
    started: new Promise<void>((r) => (started = r)),
    ended: new Promise<string>((r) => (ended = r)),
    unsubscribe: () => {},
  }
  const sub = subscribe({
    onStarted: () => started(),
    onData: (d) => result.data.push(d),
    onError: (e) =>
      ended(e instanceof TRPCClientError ? `error:${String(e.data?.code)}` : `error:${String(e)}`),
    onComplete: () => ended('complete'),
  })
  result.unsubscribe = () => sub.unsubscribe()
  cleanups.push(result.unsubscribe)
  return result
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    sleep(ms).then(() => Promise.reject(new Error(`${what}: nothing within ${ms} ms`))),
  ])
}

const countUsers = () => server.database.collections.users.countDocuments({})
const countSessions = () => server.database.collections.sessions.countDocuments({})

// ---- HTTP ----------------------------------------------------------------------

describe('over HTTP', () => {
  it('register → me → logout → me is null', async () => {
    const c = httpClient()
    const username = uniqueName('Reg')
    const { user } = await c.trpc.auth.register.mutate({
      username,
      password: 'correct horse battery',
      displayName: 'Reggie',
    })
    expect(user).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      username: username.toLowerCase(),
      displayName: 'Reggie',
    })
    expect(Object.keys(user).sort()).toEqual(['displayName', 'id', 'username'])

    // The session cookie: HttpOnly, SameSite=Lax, Path=/, no Domain, an expiry; plain http → no __Host-/Secure.
    const set = c.setCookies.at(-1)!
    expect(set).toMatch(/^parley_session=[a-z2-7]{24}\.[a-z2-7]{32};/)
    expect(set).toMatch(/;\s*HttpOnly/i)
    expect(set).toMatch(/;\s*SameSite=Lax/i)
    expect(set).toMatch(/;\s*Path=\//i)
    expect(set).toMatch(/;\s*(Max-Age=\d+|Expires=)/i)
    expect(set).not.toMatch(/domain=/i)
    expect(set).not.toMatch(/;\s*Secure/i)

    expect(await c.trpc.auth.me.query()).toEqual({ user })
    const sessionCookie = c.cookie!

    await c.trpc.auth.logout.mutate()
    expect(c.setCookies.at(-1)).toMatch(/^parley_session=;.*Max-Age=0/i)
    expect(c.cookie).toBeNull()
    expect(await c.trpc.auth.me.query()).toBeNull()
    // Deleted server-side, not just forgotten by the client.
    expect(await httpClient(sessionCookie).trpc.auth.me.query()).toBeNull()

    // Logging in again issues a new token.
    const again = await c.trpc.auth.login.mutate({ username, password: 'correct horse battery' })
    expect(again.user).toEqual(user)
    expect(c.cookie).not.toBeNull()
    expect(c.cookie).not.toBe(sessionCookie)
    expect(await c.trpc.auth.me.query()).toEqual({ user })
  })

  it('me without a cookie, or with a garbage one, is null', async () => {
    expect(await httpClient().trpc.auth.me.query()).toBeNull()
    expect(await httpClient('parley_session=abc.def').trpc.auth.me.query()).toBeNull()
    expect(
      await httpClient(
        'parley_session=aaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      ).trpc.auth.me.query(),
    ).toBeNull()
  })

  it('a taken username (any case) is CONFLICT', async () => {
    const a = await signUp()
    const err = await rejection(
      httpClient().trpc.auth.register.mutate({
        username: a.username.toUpperCase(),
        password: 'another password',
      }),
    )
    expect(err.data?.code).toBe('CONFLICT')
  })

  it('a wrong password and an unknown user get the identical error', async () => {
    const a = await signUp()
    const wrong = await rejection(
      httpClient().trpc.auth.login.mutate({ username: a.username, password: 'not the password' }),
    )
    const unknown = await rejection(
      httpClient().trpc.auth.login.mutate({
        username: uniqueName('ghost'),
        password: 'not the password',
      }),
    )
    expect(wrong.data?.code).toBe('UNAUTHORIZED')
    expect(wrong.data?.httpStatus).toBe(401)
    expect(unknown.data?.code).toBe(wrong.data?.code)
    expect(unknown.data?.httpStatus).toBe(wrong.data?.httpStatus)
    expect(unknown.message).toBe(wrong.message)
    expect(wrong.message).toBe('Invalid username or password')
  })

  it('repeated failed logins for one account → TOO_MANY_REQUESTS with retryAfterMs, while another account still logs in', async () => {
    const victim = await signUp()
    const bystander = await signUp()
    const attacker = httpClient()
    for (let i = 0; i < 5; i++) {
      const err = await rejection(
        attacker.trpc.auth.login.mutate({
          username: victim.username,
          password: `guess number ${i}`,
        }),
      )
      expect(err.data?.code).toBe('UNAUTHORIZED')
    }
    const limited = await rejection(
      attacker.trpc.auth.login.mutate({ username: victim.username, password: victim.password }),
    )
    expect(limited.data?.code).toBe('TOO_MANY_REQUESTS')
    expect(limited.data?.httpStatus).toBe(429)
    expect(limited.data?.retryAfterMs).toBeGreaterThan(0)
    expect(attacker.cookie).toBeNull()

    const other = httpClient()
    const { user } = await other.trpc.auth.login.mutate({
      username: bystander.username,
      password: bystander.password,
    })
    expect(user.id).toBe(bystander.userId)
    expect(other.cookie).not.toBeNull()
  })

  it('logoutAll ends every session of the user', async () => {
    const a = await signUp()
    const second = httpClient()
    await second.trpc.auth.login.mutate({ username: a.username, password: a.password })
    const other = await signUp()
    expect(await second.trpc.auth.me.query()).not.toBeNull()
    await a.trpc.auth.logoutAll.mutate()
    expect(a.cookie).toBeNull()
    expect(await second.trpc.auth.me.query()).toBeNull()
    expect(await other.trpc.auth.me.query()).not.toBeNull()
    expect((await rejection(httpClient().trpc.auth.logoutAll.mutate())).data?.code).toBe(
      'UNAUTHORIZED',
    )
  })

  it('50 concurrent registrations of one username: exactly one succeeds', async () => {
    const username = uniqueName('race')
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        httpClient().trpc.auth.register.mutate({ username, password: `password ${i}` }),
      ),
    )
    const ok = results.filter((r) => r.status === 'fulfilled')
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(ok).toHaveLength(1)
    expect(failed.map((r) => (r.reason as TRPCClientError<AppRouter>).data?.code)).toEqual(
      Array(49).fill('CONFLICT'),
    )
    expect(await server.database.collections.users.countDocuments({ username })).toBe(1)
  })
})

describe('bad input', () => {
  const post = (path: string, body: string) =>
    fetch(`${server.url}/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })

  const cases: Array<[string, string, unknown]> = [
    ['register: missing fields', 'auth.register', {}],
    ['register: missing password', 'auth.register', { username: 'someone_new' }],
    ['register: wrong types', 'auth.register', { username: 12345, password: true }],
    [
      'register: 10 kB username',
      'auth.register',
      { username: 'a'.repeat(10_000), password: 'long enough pw' },
    ],
    [
      'register: operator object for username',
      'auth.register',
      { username: { $gt: '' }, password: 'long enough pw' },
    ],
    [
      'register: operator object for password',
      'auth.register',
      { username: 'someone_new', password: { $gt: '' } },
    ],
    ['register: short password', 'auth.register', { username: 'someone_new', password: 'short' }],
    [
      'register: 257-char password',
      'auth.register',
      { username: 'someone_new', password: 'p'.repeat(257) },
    ],
    [
      'register: forbidden characters',
      'auth.register',
      { username: 'some one$', password: 'long enough pw' },
    ],
    [
      'register: unknown field',
      'auth.register',
      { username: 'someone_new', password: 'long enough pw', admin: true },
    ],
    ['register: array', 'auth.register', [{ username: 'someone_new', password: 'long enough pw' }]],
    ['register: null', 'auth.register', null],
    ['login: operator objects', 'auth.login', { username: { $gt: '' }, password: { $gt: '' } }],
    ['login: missing password', 'auth.login', { username: 'someone' }],
    ['login: 10 kB username', 'auth.login', { username: 'a'.repeat(10_000), password: 'whatever' }],
  ]

  it.each(cases)('%s → BAD_REQUEST, nothing written', async (_name, path, input) => {
    const users = await countUsers()
    const sessions = await countSessions()
    const res = await post(path, JSON.stringify(input))
    expect(res.status).toBe(400)
    const body = (await res.json()) as { error: { data: { code: string } } }
    expect(body.error.data.code).toBe('BAD_REQUEST')
    expect(res.headers.getSetCookie()).toEqual([])
    expect(await countUsers()).toBe(users)
    expect(await countSessions()).toBe(sessions)
  })

  it('malformed JSON → BAD_REQUEST, nothing written', async () => {
    const users = await countUsers()
    const res = await post('auth.register', '{"username": "x", "password": ')
    expect(res.status).toBe(400)
    expect(await countUsers()).toBe(users)
  })

  it('the client sees the zod issues', async () => {
    const err = await rejection(
      httpClient().trpc.auth.register.mutate({ username: 'x', password: 'y' }),
    )
    expect(err.data?.code).toBe('BAD_REQUEST')
    const zodError = err.data?.zodError as { fieldErrors: Record<string, string[]> } | null
    expect(Object.keys(zodError?.fieldErrors ?? {}).sort()).toEqual(['password', 'username'])
  })
})

// ---- WebSocket -----------------------------------------------------------------

describe('over WebSocket', () => {
  it('a socket opened with the session cookie is authenticated; a protected subscription works', async () => {
    const a = await signUp()
    const ws = wsClient({ cookie: a.cookie })
    expect(await ws.trpc.auth.me.query()).toEqual({
      user: { id: a.userId, username: a.username, displayName: a.username },
    })
    const sub = watch((h) => ws.trpc.events.user.subscribe(undefined, h))
    await within(sub.started, 5000, 'events.user start')
    const ended = await Promise.race([sub.ended, sleep(300).then(() => 'still running')])
    expect(ended).toBe('still running')
  })

  it('the token can come as connectionParams.token instead', async () => {
    const a = await signUp()
    const token = a.cookie!.split('=')[1]!
    const ws = wsClient({ token })
    expect((await ws.trpc.auth.me.query())?.user.id).toBe(a.userId)
  })

  it('a socket without a session gets UNAUTHORIZED on protected procedures', async () => {
    const ws = wsClient()
    expect(await ws.trpc.auth.me.query()).toBeNull()
    const sub = watch((h) => ws.trpc.events.user.subscribe(undefined, h))
    expect(await within(sub.ended, 5000, 'events.user refusal')).toBe('error:UNAUTHORIZED')
    expect((await rejection(ws.trpc.auth.logoutAll.mutate())).data?.code).toBe('UNAUTHORIZED')
    const withBadCookie = wsClient({
      cookie: 'parley_session=aaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    })
    const sub2 = watch((h) => withBadCookie.trpc.events.user.subscribe(undefined, h))
    expect(await within(sub2.ended, 5000, 'events.user refusal')).toBe('error:UNAUTHORIZED')
  })

  it('register and login over a socket answer with the user, and leave no session behind (no cookie could carry it)', async () => {
    const ws = wsClient()
    const username = uniqueName('wsreg')
    const { user } = await ws.trpc.auth.register.mutate({
      username,
      password: 'correct horse battery',
    })
    expect(user.username).toBe(username)
    const { user: again } = await ws.trpc.auth.login.mutate({
      username,
      password: 'correct horse battery',
    })
    expect(again.id).toBe(user.id)
    expect(await server.database.collections.sessions.countDocuments({ userId: new ObjectId(user.id) })).toBe(0)
  })

  it('logging out over HTTP ends that session’s subscriptions within seconds', async () => {
    const a = await signUp()
    const ws = wsClient({ cookie: a.cookie })
    const sub = watch((h) => ws.trpc.events.user.subscribe(undefined, h))
    await within(sub.started, 5000, 'events.user start')
    await a.trpc.auth.logout.mutate()
    // The server closes the socket (4001); on reconnect the revoked cookie no longer authenticates.
    // "Within seconds": each wait gives up after 5 s.
    await expect.poll(() => ws.closes, { timeout: 5000, interval: 20, message: 'socket close' }).toContain(4001)
    const how = await within(sub.ended, 5000, 'subscription end')
    expect(['error:UNAUTHORIZED', 'complete']).toContain(how)
  })

  /** One user signed in on a laptop and a phone over HTTP, each with a socket whose events.user has started. */
  async function onTwoDevices() {
    const laptop = await signUp()
    const phone = httpClient()
    await phone.trpc.auth.login.mutate({ username: laptop.username, password: laptop.password })
    const wsLaptop = wsClient({ cookie: laptop.cookie })
    const wsPhone = wsClient({ cookie: phone.cookie })
    const onLaptop = watch((h) => wsLaptop.trpc.events.user.subscribe(undefined, h))
    const onPhone = watch((h) => wsPhone.trpc.events.user.subscribe(undefined, h))
    await within(Promise.all([onLaptop.started, onPhone.started]), 5000, 'subscriptions start')
    return { laptop, phone, wsLaptop, wsPhone, onLaptop }
  }

  it('logging out on one device leaves the user’s other devices signed in: their events.user carries on, with no session.revoked', async () => {
    const { laptop, phone, wsLaptop, wsPhone, onLaptop } = await onTwoDevices()
    await phone.trpc.auth.logout.mutate()
    await expect.poll(() => wsPhone.closes, { timeout: 5000, interval: 20, message: 'phone socket close' }).toContain(4001)
    // The laptop's stream still carries news: a room created now is announced on it.
    const room = await laptop.trpc.rooms.create.mutate({ name: 'still signed in', visibility: 'private' })
    const types = () => onLaptop.data.map((d) => (d as { type: string }).type)
    await expect
      .poll(() => onLaptop.data.some((d) => (d as { type: string; room?: { id: string } }).room?.id === room.id), { timeout: 5000, interval: 20, message: 'room.added on the laptop' })
      .toBe(true)
    expect(types()).not.toContain('session.revoked')
    expect(wsLaptop.closes).toEqual([])
    expect(await Promise.race([onLaptop.ended, sleep(100).then(() => 'still running')])).toBe('still running')
  })

  it('changing the password ends every other session of the user, their sockets within seconds, and keeps this one; a wrong current password is FORBIDDEN and changes nothing', async () => {
    const { laptop, phone, wsLaptop, wsPhone, onLaptop } = await onTwoDevices()

    const wrong = await rejection(
      laptop.trpc.auth.changePassword.mutate({ currentPassword: 'not it at all', newPassword: 'a new password' }),
    )
    expect(wrong.data?.code).toBe('FORBIDDEN')
    expect(wrong.message).toBe('Your current password is not right')
    for (const bad of [
      { currentPassword: laptop.password, newPassword: 'short' },
      { currentPassword: '', newPassword: 'a new password' },
      { currentPassword: laptop.password, newPassword: 'a new password', extra: 1 },
    ])
      expect((await rejection(laptop.trpc.auth.changePassword.mutate(bad as never))).data?.code).toBe('BAD_REQUEST')
    expect(await phone.trpc.auth.me.query()).not.toBeNull()
    expect(wsPhone.closes).toEqual([])

    await laptop.trpc.auth.changePassword.mutate({ currentPassword: laptop.password, newPassword: 'a new password' })
    await expect.poll(() => wsPhone.closes, { timeout: 5000, interval: 20, message: 'phone socket close' }).toContain(4001)
    expect(await phone.trpc.auth.me.query()).toBeNull()
    expect((await laptop.trpc.auth.me.query())?.user.username).toBe(laptop.username)
    expect(wsLaptop.closes).toEqual([])
    expect(onLaptop.data.map((d) => (d as { type: string }).type)).not.toContain('session.revoked')
    // The new password signs in; the old one no longer does.
    const old = await rejection(httpClient().trpc.auth.login.mutate({ username: laptop.username, password: laptop.password }))
    expect(old.data?.code).toBe('UNAUTHORIZED')
    await httpClient().trpc.auth.login.mutate({ username: laptop.username, password: 'a new password' })
    expect(
      (await rejection(httpClient().trpc.auth.changePassword.mutate({ currentPassword: 'x', newPassword: 'a new password' }))).data?.code,
    ).toBe('UNAUTHORIZED')
  })

  it('a new display name: auth.me says it, the other device hears it and sends with it over the socket it already had open, a direct room shows it; a bad name changes nothing', async () => {
    const { laptop, phone, wsLaptop, onLaptop } = await onTwoDevices()
    const room = await laptop.trpc.rooms.create.mutate({ name: 'renames', visibility: 'private' })
    const friend = await signUp()
    await friend.trpc.rooms.direct.mutate({ username: laptop.username })
    const onFriend = watch((h) => wsClient({ cookie: friend.cookie }).trpc.events.user.subscribe(undefined, h))
    await within(onFriend.started, 5000, 'friend subscription starts')
    const before = await wsLaptop.trpc.messages.send.mutate({ roomId: room.id, clientId: 'before', body: 'sent before' })
    expect(before.author.displayName).toBe(laptop.username)

    for (const bad of [{ displayName: '' }, { displayName: '   ' }, { displayName: 'x'.repeat(65) }, { displayName: 'Ada', extra: 1 }, {}])
      expect((await rejection(phone.trpc.auth.updateProfile.mutate(bad as never))).data?.code).toBe('BAD_REQUEST')
    expect((await laptop.trpc.auth.me.query())?.user.displayName).toBe(laptop.username)

    const { user } = await phone.trpc.auth.updateProfile.mutate({ displayName: '  Ada Lovelace  ' })
    expect(user).toEqual({ id: laptop.userId, username: laptop.username, displayName: 'Ada Lovelace' })
    expect((await laptop.trpc.auth.me.query())?.user.displayName).toBe('Ada Lovelace')
    await expect
      .poll(() => onLaptop.data.find((d) => (d as { type: string }).type === 'profile.updated'), { timeout: 5000, interval: 20 })
      .toEqual({ type: 'profile.updated', user })
    // The friend, who shares a room with the user, hears it too.
    await expect
      .poll(() => onFriend.data.find((d) => (d as { type: string }).type === 'profile.updated'), { timeout: 5000, interval: 20 })
      .toEqual({ type: 'profile.updated', user })
    // The laptop's socket was opened with the old name; what it sends now carries the new one.
    const after = await wsLaptop.trpc.messages.send.mutate({ roomId: room.id, clientId: 'after', body: 'sent after' })
    expect(after.author).toEqual(user)
    const { messages } = await laptop.trpc.messages.list.query({ roomId: room.id })
    expect(messages.map((m) => [m.body, m.author.displayName])).toEqual([
      ['sent before', laptop.username],
      ['sent after', 'Ada Lovelace'],
    ])
    // The friend's direct room names the other person as they are now; so does the member list.
    const [dm] = (await friend.trpc.rooms.list.query()).filter((r) => r.direct)
    expect(dm?.directPeople?.find((p) => p.id === laptop.userId)?.displayName).toBe('Ada Lovelace')
    const members = await friend.trpc.rooms.members.query({ roomId: dm!.id })
    expect(members.find((m) => m.user.id === laptop.userId)?.user.displayName).toBe('Ada Lovelace')
  })

  it('lists where the user is signed in, this device marked, and signs one other device out: its socket closes, this one stays', async () => {
    const { laptop, phone, wsLaptop, wsPhone, onLaptop } = await onTwoDevices()
    const listed = await laptop.trpc.auth.sessions.query()
    expect(listed).toHaveLength(2)
    const here = listed.find((s) => s.current)!
    const there = listed.find((s) => !s.current)!
    expect((await phone.trpc.auth.sessions.query()).find((s) => s.current)?.id).toBe(there.id)
    expect(Date.parse(there.lastSeenAt)).toBeGreaterThan(0)

    const refused = async (sessionId: string, by = laptop) => (await rejection(by.trpc.auth.endSession.mutate({ sessionId }))).data?.code
    expect(await refused(here.id)).toBe('BAD_REQUEST') // this device signs out with auth.logout
    expect(await refused('a'.repeat(24))).toBe('NOT_FOUND')
    expect(await refused('not a session id')).toBe('BAD_REQUEST')
    expect(await refused(there.id, await signUp())).toBe('NOT_FOUND') // someone else's
    expect(await phone.trpc.auth.me.query()).not.toBeNull()

    await laptop.trpc.auth.endSession.mutate({ sessionId: there.id })
    await expect.poll(() => wsPhone.closes, { timeout: 5000, interval: 20, message: 'phone socket close' }).toContain(4001)
    expect(await phone.trpc.auth.me.query()).toBeNull()
    expect((await laptop.trpc.auth.sessions.query()).map((s) => s.id)).toEqual([here.id])
    expect(wsLaptop.closes).toEqual([])
    expect(onLaptop.data.map((d) => (d as { type: string }).type)).not.toContain('session.revoked')
  })

  it('logoutAll ends the subscriptions of every session of the user, and no one else’s', async () => {
    const a = await signUp()
    const second = httpClient()
    await second.trpc.auth.login.mutate({ username: a.username, password: a.password })
    const other = await signUp()
    const ws1 = wsClient({ cookie: a.cookie })
    const ws2 = wsClient({ cookie: second.cookie })
    const wsOther = wsClient({ cookie: other.cookie })
    const subs = [ws1, ws2, wsOther].map((ws) =>
      watch((h) => ws.trpc.events.user.subscribe(undefined, h)),
    )
    await within(Promise.all(subs.map((s) => s.started)), 5000, 'subscriptions start')
    await a.trpc.auth.logoutAll.mutate()
    await expect.poll(() => [ws1.closes.includes(4001), ws2.closes.includes(4001)], { timeout: 5000, interval: 20, message: 'sockets close' }).toEqual([true, true])
    await sleep(200)
    expect(wsOther.closes).toEqual([])
    expect(await wsOther.trpc.auth.me.query()).not.toBeNull()
  })

  it('an HTTP + WS client sharing the cookie works like the web app', async () => {
    const a = await signUp()
    const trpc = splitClient(a.cookie!)
    expect((await trpc.auth.me.query())?.user.id).toBe(a.userId)
    const sub = watch((h) => trpc.events.user.subscribe(undefined, h))
    await within(sub.started, 5000, 'events.user start')
  })
})

// ---- cross-site protection (enforced by apps/server) ------------------------------

describe('cross-site requests', () => {
  function upgrade(headers: Record<string, string>): Promise<number> {
    return new Promise((resolve) => {
      const ws = new WebSocket(server.wsUrl, { headers })
      ws.once('open', () => {
        ws.close()
        resolve(101)
      })
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0)
        ws.terminate()
      })
      ws.once('error', () => resolve(-1))
    })
  }

  it('a WebSocket upgrade from a foreign Origin is refused', async () => {
    const a = await signUp()
    expect(await upgrade({ origin: 'https://evil.example', cookie: a.cookie! })).toBe(403)
    // Control: the server's own origin, and non-browser clients (no Origin), are let in.
    expect(await upgrade({ origin: server.url, cookie: a.cookie! })).toBe(101)
    expect(await upgrade({ cookie: a.cookie! })).toBe(101)
  })

  it('a cross-site multipart/form-data POST to auth.logout is refused and the session survives', async () => {
    const a = await signUp()
    const form = new FormData()
    form.set('anything', 'x')
    const res = await fetch(`${server.url}/trpc/auth.logout`, {
      method: 'POST',
      headers: {
        cookie: a.cookie!,
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
      body: form,
    })
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.headers.getSetCookie()).toEqual([])
    expect((await a.trpc.auth.me.query())?.user.id).toBe(a.userId)

    // Also without Origin/Sec-Fetch-Site (an old browser): multipart is not accepted for mutations.
    const bare = await fetch(`${server.url}/trpc/auth.logout`, {
      method: 'POST',
      headers: { cookie: a.cookie! },
      body: form,
    })
    expect(bare.status).toBeGreaterThanOrEqual(400)
    expect((await a.trpc.auth.me.query())?.user.id).toBe(a.userId)

    // Control: a same-origin JSON call does log out.
    const ok = await fetch(`${server.url}/trpc/auth.logout`, {
      method: 'POST',
      headers: {
        cookie: a.cookie!,
        'content-type': 'application/json',
        origin: server.url,
        'sec-fetch-site': 'same-origin',
      },
    })
    expect(ok.status).toBe(200)
    expect(await a.trpc.auth.me.query()).toBeNull()
  })
})
