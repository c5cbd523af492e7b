import 'fake-indexeddb/auto'
import { TRPCClientError } from '@trpc/client'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { message } from '../test/factories.ts'
import { closeUserDb, deleteUserDb, loadOutbox, openUserDb } from '../offline/db.ts'
import { callMutation } from '../lib/trpc-query.ts'
import type * as TrpcQuery from '../lib/trpc-query.ts'
import { useOutboxStore } from './outbox.ts'

vi.mock('../lib/trpc-query.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof TrpcQuery>()),
  callMutation: vi.fn(),
}))

const send = vi.mocked(callMutation)
const ROOM = 'a'.repeat(24)
const USER = 'b'.repeat(24)

const networkError = () => new TRPCClientError('fetch failed')
const badRequest = () =>
  new TRPCClientError('body too long', {
    result: {
      error: {
        message: 'body too long',
        code: -32600,
        data: { code: 'BAD_REQUEST', httpStatus: 400 },
      },
    },
  })

/** Answers like messages.send: a message echoing the input, seq increasing. */
function acceptAll() {
  let seq = 100
  const sent: { clientId: string; body: string }[] = []
  send.mockImplementation(async (_path, input) => {
    const { clientId, body, roomId } = input as { clientId: string; body: string; roomId: string }
    sent.push({ clientId, body })
    return message({ seq: ++seq, clientId, body, roomId }) as never
  })
  return sent
}

beforeEach(async () => {
  setActivePinia(createPinia())
  send.mockReset()
  await openUserDb(USER)
})

afterEach(async () => {
  await deleteUserDb(USER)
})

describe('outbox store', () => {
  it('stores an item before sending it', async () => {
    let storedWhenSending: unknown[] = []
    send.mockImplementation(async () => {
      storedWhenSending = await loadOutbox()
      throw networkError()
    })
    const outbox = useOutboxStore()
    const item = await outbox.enqueue(ROOM, 'hello')
    await outbox.flush()
    expect(storedWhenSending).toMatchObject([
      { clientId: item.clientId, body: 'hello', roomId: ROOM },
    ])
    expect(item.clientId).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('waits while offline, then sends in order once, and empties the store', async () => {
    send.mockRejectedValue(networkError())
    const outbox = useOutboxStore()
    await outbox.enqueue(ROOM, 'one')
    await outbox.enqueue(ROOM, 'two')
    await outbox.enqueue(ROOM, 'three')
    await outbox.flush()
    expect(outbox.items.map((i) => [i.body, i.status])).toEqual([
      ['one', 'pending'],
      ['two', 'pending'],
      ['three', 'pending'],
    ])
    // A transient failure stops the queue: nothing after "one" was tried.
    expect(send.mock.calls.every(([, input]) => (input as { body: string }).body === 'one')).toBe(
      true,
    )

    const sent = acceptAll()
    outbox.kick()
    await outbox.flush()
    expect(sent.map((s) => s.body)).toEqual(['one', 'two', 'three'])
    expect(outbox.items).toEqual([])
    expect(await loadOutbox()).toEqual([])
  })

  it('survives a reload: a new store loads pending items in order with the same clientIds', async () => {
    send.mockRejectedValue(networkError())
    const first = useOutboxStore()
    const a = await first.enqueue(ROOM, 'first')
    const b = await first.enqueue(ROOM, 'second')
    await first.flush()

    // "Reload": fresh pinia, database reopened.
    closeUserDb()
    setActivePinia(createPinia())
    await openUserDb(USER)
    const sent = acceptAll()
    const second = useOutboxStore()
    await second.load()
    expect(second.items.map((i) => i.clientId)).toEqual([a.clientId, b.clientId])
    await second.flush()
    expect(sent).toEqual([
      { clientId: a.clientId, body: 'first' },
      { clientId: b.clientId, body: 'second' },
    ])
  })

  it('retries with the same clientId, so the server can dedupe', async () => {
    send.mockRejectedValueOnce(networkError())
    const sent = acceptAll()
    send.mockRejectedValueOnce(networkError())
    const outbox = useOutboxStore()
    const item = await outbox.enqueue(ROOM, 'again')
    await outbox.flush()
    outbox.kick()
    await outbox.flush()
    const ids = send.mock.calls.map(([, input]) => (input as { clientId: string }).clientId)
    expect(new Set(ids)).toEqual(new Set([item.clientId]))
    expect(sent).toHaveLength(1)
  })

  it('marks a rejected item failed, keeps sending the others, and offers retry and discard', async () => {
    const outbox = useOutboxStore()
    send.mockImplementation(async (_p, input) => {
      const { body, clientId } = input as { body: string; clientId: string }
      if (body === 'bad') throw badRequest()
      return message({ seq: 500 + outbox.items.length, clientId, body, roomId: ROOM }) as never
    })
    const bad = await outbox.enqueue(ROOM, 'bad')
    await outbox.enqueue(ROOM, 'good')
    await outbox.flush()
    expect(outbox.items).toMatchObject([
      { clientId: bad.clientId, status: 'failed', error: 'body too long' },
    ])
    expect((await loadOutbox())[0]).toMatchObject({ status: 'failed' })

    send.mockImplementation(
      async (_p, input) => message({ seq: 900, ...(input as object) }) as never,
    )
    await outbox.retry(bad.clientId)
    expect(outbox.items).toEqual([])

    send.mockRejectedValue(badRequest())
    const worse = await outbox.enqueue(ROOM, 'bad')
    await outbox.flush()
    await outbox.discard(worse.clientId)
    expect(outbox.items).toEqual([])
    expect(await loadOutbox()).toEqual([])
  })
})
