import http from 'node:http'
import net from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { WebSocketServer, type WebSocket } from 'ws'
import { Conn } from '../src/conn.ts'
import type { ServerMsg } from '../src/frames.ts'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

/** A ws server on /trpc; resolves the URL and a queue of server-side sockets with what the upgrade request carried. */
async function wsServer() {
  const server = http.createServer()
  const wss = new WebSocketServer({ server, path: '/trpc', perMessageDeflate: false })
  const conns: { ws: WebSocket; cookie: string | undefined; received: string[] }[] = []
  const waiting: ((c: (typeof conns)[number]) => void)[] = []
  wss.on('connection', (ws, req) => {
    const c = { ws, cookie: req.headers.cookie, received: [] as string[] }
    ws.on('message', (raw: Buffer) => c.received.push(raw.toString()))
    conns.push(c)
    waiting.shift()?.(c)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => {
    for (const c of wss.clients) c.terminate()
    wss.close()
    server.close()
  })
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    next: () => new Promise<(typeof conns)[number]>((resolve) => (conns.length > waiting.length ? resolve(conns[waiting.length]!) : waiting.push(resolve))),
  }
}

/** How long (and how often) expect.poll waits for the other end. */
const POLL = { timeout: 2000, interval: 5 }

function recorder() {
  const log: string[] = []
  return {
    log,
    handlers: {
      onStarted: () => log.push('started'),
      onData: (m: ServerMsg) => log.push(`data ${m.tracked ? m.trackedId : '-'} ${m.eventType}${m.stamped ? ` ${m.step}:${m.intendedNs}:${m.senderNode}` : ''}`),
      onError: (e: unknown) => log.push(`error ${(e as { message?: string }).message}`),
      onStopped: () => log.push('stopped'),
    },
  }
}

const event = (seq: number, body: string) => ({ type: 'message.created', roomId: 'r', seq, message: { id: 'm', roomId: 'r', seq, author: { id: 'a', username: 'u', displayName: 'U' }, body } })
const tracked = (subId: number, seq: number, body: string) => JSON.stringify({ id: subId, result: { type: 'data', data: { id: String(seq), data: event(seq, body) }, id: String(seq) } })

describe('Conn over a real WebSocket server', () => {
  test('upgrade with the cookie, subscribe, data in both shapes, typing, keep-alive, mutation replies', async () => {
    const srv = await wsServer()
    const conn = new Conn(srv.url, 'parley_session=abc', '127.0.0.1')
    await conn.open()
    const s = await srv.next()
    expect(s.cookie).toBe('parley_session=abc')

    const r = recorder()
    const id = conn.subscribe('events.room', { roomId: 'r', lastEventId: '4' }, r.handlers)
    await expect.poll(() => s.received.length, POLL).toBe(1)
    expect(JSON.parse(s.received[0]!)).toEqual({ id, method: 'subscription', params: { path: 'events.room', input: { roomId: 'r', lastEventId: '4' } } })

    s.ws.send(JSON.stringify({ id, result: { type: 'started' } }))
    s.ws.send(tracked(id, 5, '1:1000:0:xx'))
    s.ws.send(JSON.stringify({ id, result: { type: 'data', id: '6', data: { id: '6', data: event(6, '1:2000:1:') } } }))
    s.ws.send(JSON.stringify({ id, result: { type: 'data', data: { type: 'typing', roomId: 'r', user: { id: 'x' } } } }))
    s.ws.send('PING')
    await expect.poll(() => [r.log.length, s.received.length], POLL).toEqual([4, 2])
    expect(r.log).toEqual(['started', 'data 5 message.created 1:1000:0', 'data 6 message.created 1:2000:1', 'data - typing'])
    expect(s.received[1]).toBe('PONG')

    const replies: [boolean, unknown][] = []
    expect(conn.mutate('messages.send', { body: 'é' }, (ok, data) => replies.push([ok, data]))).toBe(true)
    expect(conn.mutate('messages.send', { body: 'x'.repeat(70_000) }, (ok, data) => replies.push([ok, data]))).toBe(true)
    await expect.poll(() => s.received.length, POLL).toBe(4)
    const [m1, m2] = s.received.slice(2).map((t) => JSON.parse(t) as { id: number; params: { input: { body: string } } })
    expect(m1!.params.input.body).toBe('é')
    expect(m2!.params.input.body.length).toBe(70_000)
    s.ws.send(JSON.stringify({ id: m1!.id, result: { type: 'data', data: { seq: 7 } } }))
    s.ws.send(JSON.stringify({ id: m2!.id, error: { message: 'slow down', data: { code: 'TOO_MANY_REQUESTS' } } }))
    await expect.poll(() => replies.length, POLL).toBe(2)
    expect(replies).toEqual([
      [true, { seq: 7 }],
      [false, { message: 'slow down', data: { code: 'TOO_MANY_REQUESTS' } }],
    ])

    s.ws.send(JSON.stringify({ id, error: { message: 'gone' } }))
    await expect.poll(() => r.log.length, POLL).toBe(5)
    expect(r.log[4]).toBe('error gone')
    conn.close()
  })

  test('large, fragmented and control frames', async () => {
    const srv = await wsServer()
    const conn = new Conn(srv.url, '', undefined)
    await conn.open()
    const s = await srv.next()
    const r = recorder()
    const id = conn.subscribe('events.room', {}, r.handlers)
    const big = 'y'.repeat(100_000) // 64-bit length
    s.ws.send(tracked(id, 1, `1:5:0:${big}`))
    // One message in three frames.
    const frame = tracked(id, 2, '1:6:1:')
    s.ws.send(frame.slice(0, 10), { fin: false })
    s.ws.ping('hi')
    s.ws.send(frame.slice(10, 40), { fin: false })
    s.ws.send(frame.slice(40), { fin: true })
    const pong = new Promise<string>((resolve) => s.ws.once('pong', (d) => resolve(d.toString())))
    await expect.poll(() => r.log.length, POLL).toBe(2)
    expect(r.log).toEqual(['data 1 message.created 1:5:0', 'data 2 message.created 1:6:1'])
    expect(await pong).toBe('hi')
    conn.close()
  })

  test('a close from the server: its code, in-flight work ended', async () => {
    const srv = await wsServer()
    const conn = new Conn(srv.url, '', undefined)
    await conn.open()
    const s = await srv.next()
    const r = recorder()
    conn.subscribe('events.room', {}, r.handlers)
    const replies: unknown[] = []
    conn.mutate('x', {}, (ok, data) => replies.push([ok, data]))
    const closed = new Promise<number>((resolve) => (conn.onClose = resolve))
    await expect.poll(() => s.received.length, POLL).toBe(2)
    s.ws.close(4001, 'bye')
    expect(await closed).toBe(4001)
    expect(replies).toEqual([[false, { code: 'CONNECTION_CLOSED' }]])
    expect(r.log).toEqual(['stopped'])
    expect(conn.isOpen).toBe(false)
    expect(conn.mutate('x', {}, () => {})).toBe(false)
  })

  test('closed by us: no onClose', async () => {
    const srv = await wsServer()
    const conn = new Conn(srv.url, '', undefined)
    await conn.open()
    let closes = 0
    conn.onClose = () => closes++
    const r = recorder()
    conn.subscribe('events.room', {}, r.handlers)
    conn.close()
    await expect.poll(() => r.log.length, POLL).toBe(1)
    expect(r.log).toEqual(['stopped'])
    expect(closes).toBe(0)
  })

  test('refused upgrade, hanging handshake, nobody listening', async () => {
    const server = http.createServer((_, res) => res.end())
    server.on('upgrade', (_req, socket: net.Socket) => socket.end('HTTP/1.1 429 Too Many Requests\r\nRetry-After: 10\r\n\r\n'))
    const silent = net.createServer(() => {})
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => {
      server.close()
      silent.close()
    })
    const port = (s: net.Server) => (s.address() as net.AddressInfo).port
    await expect(new Conn(`http://127.0.0.1:${port(server)}`, '', undefined).open()).rejects.toThrow('Unexpected server response: 429')
    const hanging = new Conn(`http://127.0.0.1:${port(silent)}`, '', undefined)
    await expect(hanging.open(100)).rejects.toThrow('Opening handshake has timed out')
    await expect(new Conn('http://127.0.0.1:1', '', undefined).open()).rejects.toThrow(/ECONNREFUSED/)
    silent.close()
  })
})

describe('Conn framing (no socket)', () => {
  const wire = (text: string) => {
    const p = Buffer.from(text)
    const n = p.length
    const head = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.from([0x81, 126, n >> 8, n & 255]) : Buffer.from([0x81, 127, 0, 0, 0, 0, n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255])
    return Buffer.concat([head, p])
  }

  test('any split of the byte stream reads the same', () => {
    const sent: Buffer[] = []
    const probe = Conn.detached((f) => sent.push(f))
    const id = probe.subscribe('events.room', {}, recorder().handlers)
    // What went out: a masked text frame (all-zero key) with the request.
    expect(sent[0]![0]).toBe(0x81)
    expect(sent[0]![1]! & 0x80).toBe(0x80)
    expect(JSON.parse(sent[0]!.subarray(6).toString())).toMatchObject({ id, method: 'subscription' })

    const stream = Buffer.concat([
      wire(JSON.stringify({ id, result: { type: 'started' } })),
      wire(tracked(id, 1, '1:10:0:')),
      wire(tracked(id, 2, `1:20:1:${'z'.repeat(300)}`)),
      wire('PING'),
      wire(tracked(id, 3, `1:30:0:${'z'.repeat(70_000)}`)),
      wire(tracked(id, 4, '1:40:1:')),
    ])
    const want = ['started', 'data 1 message.created 1:10:0', 'data 2 message.created 1:20:1', 'data 3 message.created 1:30:0', 'data 4 message.created 1:40:1']
    for (const chunk of [1, 2, 3, 7, 100, 4096, stream.length]) {
      const out: Buffer[] = []
      const c = Conn.detached((f) => out.push(f))
      const r = recorder()
      c.subscribe('events.room', {}, r.handlers)
      for (let i = 0; i < stream.length; i += chunk) {
        // Through a reused buffer, as the socket's shared read buffer is.
        const piece = Buffer.from(stream.subarray(i, i + chunk))
        c.receive(piece)
        piece.fill(0)
      }
      expect(r.log, `chunks of ${chunk}`).toEqual(want)
      expect(out.map((f) => f.subarray(6).toString())).toContain('PONG')
    }
  })
})
