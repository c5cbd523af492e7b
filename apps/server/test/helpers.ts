import { randomUUID } from 'node:crypto'
import http from 'node:http'
import { Writable } from 'node:stream'
import { appRouter } from '@parley/api'
import type { RoomStreamEvent, UserEvent } from '@parley/schemas'
import type { AnyProcedure } from '@trpc/server'
import { collect } from '@parley/testing'
import type { WebSocket } from 'ws'
import type { ApiClient, TestServer } from './factory.ts'

/**
 * Every procedure of the router by its dotted path ('rooms.join'), so a test
 * that must cover them all covers a new one too. At run time tRPC keeps them
 * flat under these paths; the type says otherwise, hence the cast.
 */
export function routerProcedures(): [string, AnyProcedure][] {
  return Object.entries(appRouter._def.procedures as unknown as Record<string, AnyProcedure>)
}

/** Alice's new public room with Bob in it: the start of most tests of what people in a room see. */
export async function twoInARoom(server: TestServer, name: string) {
  const alice = await server.signUp()
  const bob = await server.signUp()
  const roomId = (await alice.trpc.rooms.create.mutate({ name, visibility: 'public' })).id
  await bob.trpc.rooms.join.mutate({ roomId })
  return { alice, bob, roomId }
}

/** Follows a room's events as a client would. */
export function watchRoom(client: ApiClient, roomId: string, lastEventId?: string) {
  return collect<RoomStreamEvent>((h) => client.trpc.events.room.subscribe({ roomId, lastEventId }, h as never))
}

export function watchUser(client: ApiClient) {
  return collect<UserEvent>((h) => client.trpc.events.user.subscribe(undefined, h as never))
}

export function send(client: ApiClient, roomId: string, body: string, clientId: string = randomUUID()) {
  return client.trpc.messages.send.mutate({ roomId, body, clientId })
}

/** The persisted (seq-carrying) events, in arrival order. */
export function seqsOf(items: RoomStreamEvent[]): number[] {
  return items.flatMap((e) => ('seq' in e && e.type !== 'reset' ? [e.seq] : []))
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

export interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  /** The bytes as they came over the wire (not decompressed, unlike fetch's). */
  body: Buffer
}

/** An HTTP request through node:http, to see what the server sends, byte for byte. */
export function rawRequest(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Sum of every sample of `name` whose labels contain all of `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0
  let found = false
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const set = m[2] ?? ''
    if (!Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) continue
    sum += Number(m[3])
    found = true
  }
  if (!found) throw new Error(`no sample of ${name} ${JSON.stringify(labels)}`)
  return sum
}

/** `name` on a node's /metrics now (its samples summed, as metricValue does). */
export async function scrapeMetric(baseUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricValue(await (await fetch(`${baseUrl}/metrics`)).text(), name, labels)
}

/** A stream to give a logger: what it writes, as text lines and parsed (what an operator's log collector gets). */
export function logSink() {
  const text: string[] = []
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        text.push(line)
        lines.push(JSON.parse(line) as Record<string, unknown>)
      }
      done()
    },
  })
  return { stream, text, lines }
}

/** One call over a raw socket: its reply, or a rejection if the socket closes first. */
export function call(ws: WebSocket, id: number, method: 'query' | 'mutation', path: string, input?: unknown): Promise<{ result?: unknown; error?: unknown }> {
  return new Promise((resolve, reject) => {
    const onMessage = (raw: Buffer) => {
      const msg = JSON.parse(raw.toString()) as { id: unknown; result?: unknown; error?: unknown }
      if (msg.id !== id) return
      ws.off('close', onClose)
      ws.off('message', onMessage)
      resolve(msg)
    }
    const onClose = (code: number, reason: Buffer) => reject(new Error(`closed ${code} ${reason.toString()}`))
    ws.on('message', onMessage)
    ws.once('close', onClose)
    ws.send(JSON.stringify({ id, method, params: { path, input } }))
  })
}
