/**
 * Load shedding: past MAX_INFLIGHT_SENDS sends in progress on a node, the next
 * send is refused at once ("server busy", TOO_MANY_REQUESTS with a
 * retryAfterMs) and changes nothing; sent again, as the PWA's outbox does, it
 * lands — nothing is lost.
 */
import { randomUUID } from 'node:crypto'
import { TRPCClientError } from '@trpc/client'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { AppRouter } from '@parley/api'
import { startTestServer, type ApiClient, type TestServer } from './factory.ts'
import { range, send, seqsOf, watchRoom } from './helpers.ts'

const MAX = 4
let server: TestServer
let alice: ApiClient
let bob: ApiClient
let roomId: string

beforeAll(async () => {
  server = await startTestServer({ MAX_INFLIGHT_SENDS: String(MAX) })
  alice = await server.signUp()
  bob = await server.signUp()
  roomId = (await alice.trpc.rooms.create.mutate({ name: 'crowded', visibility: 'public' })).id
  await bob.trpc.rooms.join.mutate({ roomId })
})
afterAll(() => server.stop())

const scrape = async () => (await fetch(`${server.url}/metrics`)).text()
/** The value of the series whose line starts with `prefix` (the node label follows). */
const metric = (text: string, prefix: string) => Number(text.split('\n').find((l) => l.startsWith(prefix))?.split(' ')[1])

it('a send past MAX_INFLIGHT_SENDS in progress is refused at once and stored nowhere; sent again it lands', async () => {
  const bobSees = watchRoom(bob, roomId)
  await bobSees.started
  const firstSeq = (await bob.trpc.rooms.get.query({ roomId })).seq + 1

  // Forty sends in one HTTP batch: the node starts them all before any has been written.
  const sends = range(1, 40).map((i) => ({ body: `burst ${i}`, clientId: randomUUID() }))
  const outcomes = await Promise.all(sends.map((s) => send(alice, roomId, s.body, s.clientId).then((m) => ({ ok: true as const, m }), (err: unknown) => ({ ok: false as const, err }))))
  const accepted = outcomes.flatMap((o) => (o.ok ? [o.m] : []))
  const refused = outcomes.flatMap((o, i) => (o.ok ? [] : [{ ...sends[i]!, err: o.err }]))

  expect(accepted.length).toBeGreaterThanOrEqual(MAX)
  expect(refused.length).toBeGreaterThan(0)
  for (const { err } of refused) {
    expect(err).toBeInstanceOf(TRPCClientError)
    const e = err as TRPCClientError<AppRouter>
    expect(e.data?.code).toBe('TOO_MANY_REQUESTS')
    expect(e.message).toMatch(/busy/)
    expect(e.data?.retryAfterMs).toBeGreaterThanOrEqual(500)
    expect(e.data?.retryAfterMs).toBeLessThanOrEqual(1500)
  }

  // Only what was accepted is stored, and only that reached Bob, in dense seqs.
  const stored = async () => (await bob.trpc.messages.list.query({ roomId, limit: 100 })).messages.map((m) => m.body)
  expect((await stored()).sort()).toEqual(accepted.map((m) => m.body).sort())
  await bobSees.until((items) => seqsOf(items).length === accepted.length)
  expect(seqsOf(bobSees.items)).toEqual(range(firstSeq, firstSeq + accepted.length - 1))

  const metrics = await scrape()
  expect(metric(metrics, 'parley_limit_hits_total{limit="sends_inflight"')).toBe(refused.length)
  expect(metric(metrics, 'parley_sends_in_progress{')).toBe(0)

  // The node is not stuck: each refused send, sent again with its client id, lands once.
  for (const s of refused) await send(alice, roomId, s.body, s.clientId)
  expect((await stored()).sort()).toEqual(sends.map((s) => s.body).sort())
  await bobSees.until((items) => seqsOf(items).length === sends.length)
  expect(seqsOf(bobSees.items)).toEqual(range(firstSeq, firstSeq + sends.length - 1))
})

it('a send that fails frees its place: MAX_INFLIGHT_SENDS failed sends in a row leave the node open', async () => {
  const carol = await server.signUp()
  for (let i = 0; i < MAX * 3; i++) {
    const err = await send(carol, roomId, `not a member ${i}`).catch((e: unknown) => e)
    expect((err as TRPCClientError<AppRouter>).data?.code).toBe('FORBIDDEN')
  }
  expect(metric(await scrape(), 'parley_sends_in_progress{')).toBe(0)
  await expect(send(alice, roomId, 'still open')).resolves.toMatchObject({ body: 'still open' })
})
