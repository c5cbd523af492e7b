/**
 * Query results over HTTP go out compressed to a client that accepts it — a
 * room's page of messages is what a phone fetches on opening a room — and
 * small answers go out as they are.
 */
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './factory.ts'
import { rawRequest, type RawResponse } from './helpers.ts'

let server: TestServer
let alice: Awaited<ReturnType<TestServer['signUp']>>
let cookie: string
let roomId: string
let longRoomId: string

const get = (p: string, headers: Record<string, string>) => rawRequest(server.url + p, { cookie, ...headers })

const decode = (res: RawResponse) =>
  JSON.parse((res.headers['content-encoding'] === 'br' ? brotliDecompressSync(res.body) : res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.body) : res.body).toString()) as {
    result: { data: { messages: { body: string }[] } }
  }

beforeAll(async () => {
  server = await startTestServer()
  alice = await server.signUp()
  cookie = alice.jar.cookie!
  roomId = (await alice.trpc.rooms.create.mutate({ name: 'compressed', visibility: 'private' })).id
  for (let i = 0; i < 50; i++) await alice.trpc.messages.send.mutate({ roomId, clientId: `c${i}`, body: `message ${i}: the train is in a tunnel again, reading what was said` })
  // Long messages: a page of them is past what is compressed on the event loop (64 KiB).
  longRoomId = (await alice.trpc.rooms.create.mutate({ name: 'long reads', visibility: 'private' })).id
  const words = ['signal', 'tunnel', 'platform', 'delayed', 'carriage', 'window', 'station', 'coffee', 'meeting', 'notes']
  for (let i = 0; i < 30; i++) {
    const body = Array.from({ length: 600 }, (_, w) => words[(i * 7 + w * w) % words.length]).join(' ').slice(0, 4000)
    await alice.trpc.messages.send.mutate({ roomId: longRoomId, clientId: `l${i}`, body })
  }
})
afterAll(async () => {
  await server.stop()
})

describe('tRPC results over HTTP', () => {
  const page = () => `/trpc/messages.list?input=${encodeURIComponent(JSON.stringify({ roomId, limit: 50 }))}`

  it('are compressed for a client that accepts it, to under a third of their size', async () => {
    for (const accept of ['gzip, deflate, br', 'gzip']) {
      const res = await get(page(), { 'accept-encoding': accept })
      expect(res.status, accept).toBe(200)
      expect(res.headers['content-encoding'], accept).toMatch(accept === 'gzip' ? /^gzip$/ : /^(br|gzip)$/)
      expect(res.headers.vary, accept).toMatch(/accept-encoding/i)
      const messages = decode(res).result.data.messages
      expect(messages).toHaveLength(50)
      expect(messages[49]!.body).toBe('message 49: the train is in a tunnel again, reading what was said')
      const plain = await get(page(), {})
      expect(res.body.length, accept).toBeLessThan(plain.body.length / 3)
    }
  })

  it('are compressed off the event loop when large, with the same result', async () => {
    const longPage = `/trpc/messages.list?input=${encodeURIComponent(JSON.stringify({ roomId: longRoomId, limit: 50 }))}`
    const plain = await get(longPage, {})
    expect(plain.body.length).toBeGreaterThan(64 * 1024)
    for (const accept of ['br', 'gzip']) {
      const res = await get(longPage, { 'accept-encoding': accept })
      expect(res.headers['content-encoding']).toBe(accept)
      expect(Number(res.headers['content-length'])).toBe(res.body.length)
      expect(decode(res)).toEqual(JSON.parse(plain.body.toString()))
      expect(res.body.length).toBeLessThan(plain.body.length / 3)
    }
  })

  it('go out as they are when the client accepts no compression, or when they are small', async () => {
    const plain = await get(page(), {})
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(decode(plain).result.data.messages).toHaveLength(50)
    const small = await get('/trpc/system.info', { 'accept-encoding': 'gzip, br' })
    expect(small.status).toBe(200)
    expect(small.headers['content-encoding']).toBeUndefined()
    expect(small.body.length).toBeLessThan(1024)
  })
})

describe('subscriptions over HTTP', () => {
  it('stream their events as they happen to a client that accepts compression but did not ask for event-stream', async () => {
    const abort = new AbortController()
    const input = encodeURIComponent(JSON.stringify({ roomId }))
    // tRPC answers a subscription with server-sent events whatever the request accepts.
    const res = await fetch(`${server.url}/trpc/events.room?input=${input}`, { headers: { cookie, accept: '*/*', 'accept-encoding': 'br, gzip' }, signal: abort.signal })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(res.headers.get('content-encoding')).toBeNull()
    const reader = res.body!.getReader()
    let text = ''
    const arrived = (async () => {
      while (!text.includes('"body":"while you watch"')) {
        const { value, done } = await reader.read()
        if (done) return false
        text += new TextDecoder().decode(value)
      }
      return true
    })()
    await alice.trpc.messages.send.mutate({ roomId, clientId: 'sse-1', body: 'while you watch' })
    const timeout = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000))
    expect(await Promise.race([arrived, timeout])).toBe(true)
    abort.abort()
  })
})
