/**
 * events.room and events.user over WebSocket are answered by the stream
 * gateway (live/ws-streams.ts), not by tRPC's adapter. These tests speak the
 * wire protocol directly, so they pin what @trpc/client relies on: the
 * frames, batching with other calls, stop, errors shaped like tRPC's — and
 * that the generator tRPC would run (every other transport) serves the same
 * streams.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { startTestServer, type TestServer } from './factory.ts'
import { logSink, scrapeMetric, send } from './helpers.ts'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.stop())

type Frame = { id: number | string | null; result?: { type: string; id?: string; data?: unknown }; error?: { message: string; code: number; data: { code: string; zodError?: unknown } } }

/** A raw WebSocket with the user's cookie, recording every JSON frame. */
async function openRaw(cookie: string | null) {
  const ws = new WebSocket(server.wsUrl, { headers: cookie ? { cookie } : {} })
  const frames: Frame[] = []
  const waiters: (() => void)[] = []
  ws.on('message', (raw) => {
    const text = raw.toString()
    if (text === 'PING') return ws.send('PONG')
    frames.push(JSON.parse(text) as Frame)
    for (const w of waiters.splice(0)) w()
  })
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  return {
    ws,
    frames,
    send: (msg: unknown) => ws.send(JSON.stringify(msg)),
    /** Frames of request `id`, once `done` says they are complete. */
    async until(id: number | string, done: (fs: Frame[]) => boolean, timeoutMs = 5000): Promise<Frame[]> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const mine = frames.filter((f) => f.id === id)
        if (done(mine)) return mine
        if (Date.now() > deadline) throw new Error(`request ${id}: only ${JSON.stringify(mine)}`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 50)
        })
      }
    },
  }
}

async function roomWithMessage() {
  const alice = await server.signUp()
  const room = await alice.trpc.rooms.create.mutate({ name: 'raw', visibility: 'private' })
  const first = await send(alice, room.id, 'first')
  return { alice, room, first }
}

describe('events.room on the wire', () => {
  it('sends what tRPC would: started, then tracked data frames { id, data: { id, data } }, resuming after lastEventId', async () => {
    const { alice, room, first } = await roomWithMessage()
    const raw = await openRaw(alice.jar.cookie)
    raw.send({ id: 1, method: 'subscription', params: { path: 'events.room', input: { roomId: room.id }, lastEventId: String(first.seq - 1) } })
    const frames = await raw.until(1, (fs) => fs.length >= 2)
    expect(frames[0]).toEqual({ id: 1, result: { type: 'started' } })
    const created = frames[1]!.result!
    expect(created.type).toBe('data')
    expect(created.id).toBe(String(first.seq))
    expect(created.data).toMatchObject({ id: String(first.seq), data: { type: 'message.created', seq: first.seq, message: { id: first.id, body: 'first' } } })
    raw.ws.close()
  })

  it('takes its requests out of a batch frame and leaves the rest to tRPC', async () => {
    const { alice, room, first } = await roomWithMessage()
    const raw = await openRaw(alice.jar.cookie)
    // What @trpc/client sends when calls start in the same tick: one array frame.
    raw.send([
      { id: 1, method: 'query', params: { path: 'rooms.get', input: { roomId: room.id } } },
      { id: 2, method: 'subscription', params: { path: 'events.room', input: { roomId: room.id, lastEventId: '0' } } },
      { id: 3, method: 'mutation', params: { path: 'messages.send', input: { roomId: room.id, body: 'second', clientId: 'batch-1' } } },
    ])
    const [got] = await raw.until(1, (fs) => fs.length > 0)
    expect(got!.result).toMatchObject({ type: 'data', data: { id: room.id } })
    const [sent] = await raw.until(3, (fs) => fs.length > 0)
    expect(sent!.result).toMatchObject({ type: 'data', data: { body: 'second', seq: first.seq + 1 } })
    const stream = await raw.until(2, (fs) => fs.filter((f) => f.result?.type === 'data').length >= 2)
    const events = stream.flatMap((f) => (f.result?.type === 'data' ? [(f.result.data as { data: { type: string; message?: { body: string } } }).data] : []))
    const bodies = events.filter((e) => e.type === 'message.created').map((e) => e.message?.body)
    expect(bodies).toEqual(['first', 'second'])
    raw.ws.close()
  })

  it('stops on subscription.stop: a stopped frame, nothing after it, and the socket carries on', async () => {
    const { alice, room } = await roomWithMessage()
    const raw = await openRaw(alice.jar.cookie)
    raw.send({ id: 7, method: 'subscription', params: { path: 'events.room', input: { roomId: room.id } } })
    await raw.until(7, (fs) => fs.some((f) => f.result?.type === 'started'))
    raw.send({ id: 7, method: 'subscription.stop' })
    await raw.until(7, (fs) => fs.some((f) => f.result?.type === 'stopped'))
    await send(alice, room.id, 'after the stop')
    // The same socket still answers, and the stopped stream got nothing more.
    raw.send({ id: 8, method: 'query', params: { path: 'system.info' } })
    await raw.until(8, (fs) => fs.length > 0)
    const after = raw.frames.filter((f) => f.id === 7)
    expect(after.at(-1)?.result?.type).toBe('stopped')
    expect(after.filter((f) => f.result?.type === 'data')).toHaveLength(0)
    raw.ws.close()
  })

  it('answers bad requests with tRPC-shaped errors: bad input, no session, not a member, a duplicate id', async () => {
    const { alice, room } = await roomWithMessage()
    const stranger = await server.signUp()

    const raw = await openRaw(alice.jar.cookie)
    raw.send({ id: 1, method: 'subscription', params: { path: 'events.room', input: { roomId: 'nope' } } })
    const [bad] = await raw.until(1, (fs) => fs.length > 0)
    expect(bad!.error).toMatchObject({ code: -32600, data: { code: 'BAD_REQUEST', httpStatus: 400, path: 'events.room', zodError: { fieldErrors: { roomId: expect.any(Array) } } } })

    raw.send({ id: 2, method: 'subscription', params: { path: 'events.room', input: { roomId: room.id } } })
    await raw.until(2, (fs) => fs.some((f) => f.result?.type === 'started'))
    raw.send({ id: 2, method: 'subscription', params: { path: 'events.room', input: { roomId: room.id } } })
    await raw.until(2, (fs) => fs.some((f) => f.error))
    expect(raw.frames.find((f) => f.id === 2 && f.error)!.error).toMatchObject({ message: 'Duplicate id 2', data: { code: 'BAD_REQUEST' } })
    raw.ws.close()

    const anonymous = await openRaw(null)
    anonymous.send({ id: 1, method: 'subscription', params: { path: 'events.room', input: { roomId: room.id } } })
    const [unauth] = await anonymous.until(1, (fs) => fs.length > 0)
    expect(unauth!.error).toMatchObject({ message: 'Sign in first', data: { code: 'UNAUTHORIZED' } })
    anonymous.ws.close()

    const outsider = await openRaw(stranger.jar.cookie)
    outsider.send({ id: 1, method: 'subscription', params: { path: 'events.room', input: { roomId: room.id } } })
    const [hidden] = await outsider.until(1, (fs) => fs.length > 0)
    expect(hidden!.error).toMatchObject({ message: 'Room not found', data: { code: 'NOT_FOUND' } })
    outsider.ws.close()
  })

  it('ends the stream with stopped when the subscriber is removed from the room', async () => {
    const { alice, room } = await roomWithMessage()
    const bob = await server.signUp()
    await alice.trpc.rooms.invite.mutate({ roomId: room.id, username: bob.user.username })
    const raw = await openRaw(bob.jar.cookie)
    raw.send({ id: 1, method: 'subscription', params: { path: 'events.room', input: { roomId: room.id } } })
    await raw.until(1, (fs) => fs.some((f) => f.result?.type === 'started'))
    await alice.trpc.rooms.kick.mutate({ roomId: room.id, userId: bob.user.id })
    const frames = await raw.until(1, (fs) => fs.some((f) => f.result?.type === 'stopped'))
    const last = frames.filter((f) => f.result?.type === 'data').at(-1)
    expect(last?.result?.data).toMatchObject({ data: { type: 'member.left', userId: bob.user.id, reason: 'kicked' } })
    raw.ws.close()
  })

  it('a stream started under the id of one stopped before it got going still ends when the socket closes', async () => {
    const { alice, room } = await roomWithMessage()
    const streams = () => scrapeMetric(server.url, 'parley_room_streams')
    const before = await streams()
    const raw = await openRaw(alice.jar.cookie)
    // In one frame: the first request is still checking membership when the stop and the reused id arrive.
    raw.send([
      { id: 1, method: 'subscription', params: { path: 'events.room', input: { roomId: room.id } } },
      { id: 1, method: 'subscription.stop' },
      { id: 1, method: 'subscription', params: { path: 'events.room', input: { roomId: room.id } } },
    ])
    await raw.until(1, (fs) => fs.some((f) => f.result?.type === 'started'))
    await expect.poll(streams).toBe(before + 1)
    raw.ws.close()
    await expect.poll(streams).toBe(before)
  })
})

/** A server-sent-event stream over HTTP, read as it arrives: what any non-WebSocket client gets. */
async function openSse(baseUrl: string, cookie: string, path: string, input?: unknown) {
  const abort = new AbortController()
  const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`
  const res = await fetch(`${baseUrl}/trpc/${path}${query}`, { headers: { cookie, accept: 'text/event-stream' }, signal: abort.signal })
  expect(res.status).toBe(200)
  const stream = { text: '', ended: false }
  const reader = res.body!.getReader()
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
      if (done) return void (stream.ended = true)
      stream.text += new TextDecoder().decode(value)
    }
  })()
  return Object.assign(stream, {
    /** The ids of the tracked events so far. */
    ids: () => [...stream.text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])),
    /** Waits until `done()` holds; the failure shows the stream so far. */
    until(done: () => boolean, timeoutMs = 5000): Promise<void> {
      return vi.waitFor(
        () => {
          if (!done()) throw new Error(`stream so far: ${stream.text}`)
        },
        { timeout: timeoutMs, interval: 20 },
      )
    },
    async close() {
      abort.abort()
      await reading
    },
  })
}

describe('events.room through tRPC itself (HTTP streaming, any non-WebSocket caller)', () => {
  it('serves the same stream from the same hub', async () => {
    const { alice, room, first } = await roomWithMessage()
    const sse = await openSse(server.url, alice.jar.cookie!, 'events.room', { roomId: room.id, lastEventId: String(first.seq - 1) })
    await sse.until(() => sse.text.includes('"body":"first"'))
    await send(alice, room.id, 'live over http')
    await sse.until(() => sse.text.includes('"body":"live over http"'))
    expect(sse.ids()).toEqual([first.seq, first.seq + 1])
    await sse.close()
  })

  it('ends when its session is signed out, as a WebSocket is closed', async () => {
    const { alice, room, first } = await roomWithMessage()
    const sse = await openSse(server.url, alice.jar.cookie!, 'events.room', { roomId: room.id, lastEventId: String(first.seq - 1) })
    await sse.until(() => sse.text.includes('"body":"first"'))
    await alice.trpc.auth.logout.mutate()
    await sse.until(() => sse.ended)
    expect(sse.text).toContain('Session ended, sign in again')
    expect(sse.text).toContain('"code":"UNAUTHORIZED"')
    await sse.close()
  })

  it('cuts off a client too far behind with TIMEOUT; it resumes from its last event id and misses nothing', async () => {
    const startup = logSink()
    await using small = await startTestServer({ STREAM_MAX_QUEUED: '5' }, { log: pino({ level: 'warn' }, startup.stream) })
    // Below RESUME_MAX_EVENTS: allowed, with a warning naming both.
    expect(startup.lines.filter((l) => String(l.msg).startsWith('STREAM_MAX_QUEUED is below RESUME_MAX_EVENTS'))).toEqual([
      expect.objectContaining({ streamMaxQueued: 5, resumeMaxEvents: 500 }),
    ])
    const alice = await small.signUp()
    const room = await alice.trpc.rooms.create.mutate({ name: 'backlog', visibility: 'private' })
    const sent: Awaited<ReturnType<typeof send>>[] = []
    for (let i = 0; i < 12; i++) sent.push(await send(alice, room.id, `m${i}`))
    // A resume hands the stream its whole backlog at once: more than it may hold for this client.
    const behind = await openSse(small.url, alice.jar.cookie!, 'events.room', { roomId: room.id, lastEventId: '0' })
    await behind.until(() => behind.ended)
    expect(behind.text).toContain('"code":"TIMEOUT"')
    // One handed to the waiting stream, five held for it: the next one ends it.
    expect(behind.ids().length).toBeGreaterThan(0)
    expect(behind.ids().length).toBeLessThanOrEqual(6)
    // Each resume from the last id it got gets further; together they miss nothing and repeat nothing.
    const got = behind.ids()
    for (let round = 0; round < 5 && !got.includes(sent.at(-1)!.seq); round++) {
      const resumed = await openSse(small.url, alice.jar.cookie!, 'events.room', { roomId: room.id, lastEventId: String(got.at(-1)) })
      await resumed.until(() => resumed.ids().includes(sent.at(-1)!.seq) || resumed.ended)
      got.push(...resumed.ids())
      await resumed.close()
    }
    expect(got.filter((seq) => seq >= sent[0]!.seq)).toEqual(sent.map((m) => m.seq))
    await behind.close()
  })
})

describe('events.user on the wire', () => {
  it('sends untracked data frames { data } with this user’s unread count, and stops on subscription.stop', async () => {
    const { alice, room } = await roomWithMessage()
    const bob = await server.signUp()
    await alice.trpc.rooms.invite.mutate({ roomId: room.id, username: bob.user.username })
    const raw = await openRaw(bob.jar.cookie)
    raw.send({ id: 'u', method: 'subscription', params: { path: 'events.user' } })
    await raw.until('u', (fs) => fs.some((f) => f.result?.type === 'started'))
    // Started is sent before the stream follows the user's rooms: wait until a send shows up.
    let unread = 0
    for (let i = 0; unread === 0 && i < 50; i++) {
      const sent = await send(alice, room.id, `news ${i}`)
      const frames = await raw.until('u', (fs) => fs.some((f) => (f.result?.data as { seq?: number } | undefined)?.seq === sent.seq), 200).catch(() => [])
      const activity = frames.find((f) => (f.result?.data as { seq?: number } | undefined)?.seq === sent.seq)
      if (!activity) continue
      expect(activity.result).toEqual({ type: 'data', data: { type: 'room.activity', roomId: room.id, seq: sent.seq, unread: expect.any(Number), lastMessage: expect.objectContaining({ id: sent.id, body: `news ${i}` }) } })
      unread = (activity.result!.data as { unread: number }).unread
    }
    // Every message sent since bob joined is unread for him, on the stream as in his room list.
    expect(unread).toBeGreaterThanOrEqual(1)
    expect((await bob.trpc.rooms.list.query()).find((r) => r.id === room.id)?.unread).toBe(unread)

    raw.send({ id: 'u', method: 'subscription.stop' })
    await raw.until('u', (fs) => fs.some((f) => f.result?.type === 'stopped'))
    await send(alice, room.id, 'after the stop')
    raw.send({ id: 9, method: 'query', params: { path: 'system.info' } })
    await raw.until(9, (fs) => fs.length > 0)
    expect(raw.frames.filter((f) => f.id === 'u').at(-1)?.result?.type).toBe('stopped')
    raw.ws.close()

    const anonymous = await openRaw(null)
    anonymous.send({ id: 1, method: 'subscription', params: { path: 'events.user' } })
    const [unauth] = await anonymous.until(1, (fs) => fs.length > 0)
    expect(unauth!.error).toMatchObject({ message: 'Sign in first', data: { code: 'UNAUTHORIZED', path: 'events.user' } })
    anonymous.ws.close()
  })
})

describe('events.user through tRPC itself (HTTP streaming)', () => {
  it('serves the same stream from the same hub', async () => {
    const { alice, room } = await roomWithMessage()
    const abort = new AbortController()
    const res = await fetch(`${server.url}/trpc/events.user`, { headers: { cookie: alice.jar.cookie!, accept: 'text/event-stream' }, signal: abort.signal })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let text = ''
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
        if (done) return
        text += new TextDecoder().decode(value)
      }
    })()
    // Started is sent before the stream follows the rooms: send until one shows up.
    for (let i = 0; i < 50 && !text.includes('"type":"room.added"'); i++) {
      await alice.trpc.rooms.create.mutate({ name: `http ${i}`, visibility: 'private' })
      await sleep(100)
    }
    expect(text).toContain('"type":"room.added"')
    await send(alice, room.id, 'activity over http')
    await expect.poll(() => text, { timeout: 2500, interval: 50 }).toContain('"body":"activity over http"')
    expect(text).toContain('"type":"room.activity"')
    expect(text).toContain('"body":"activity over http"')
    abort.abort()
  })
})
