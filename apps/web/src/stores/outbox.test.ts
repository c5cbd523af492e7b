import 'fake-indexeddb/auto'
import { TRPCClientError } from '@trpc/client'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Message } from '@parley/schemas'
import { message } from '../test/factories.ts'
import { activeRoomId } from '../composables/useActiveRoom.ts'
import {
  closeUserDb,
  createTimelineSaver,
  dbName,
  deleteOutbox,
  deleteUserDb,
  getOutbox,
  loadOutbox,
  loadRoomCopy,
  openUserDb,
  putOutbox,
  type OutboxSend,
} from '../offline/db.ts'
import { getTimeline, timelineKey } from '../lib/cache.ts'
import { queryClient } from '../lib/query-client.ts'
import { toasts } from '../lib/toast.ts'
import { callMutation } from '../lib/trpc-query.ts'
import type * as TrpcQuery from '../lib/trpc-query.ts'
import { mayBePosted, useOutboxStore } from './outbox.ts'

vi.mock('../lib/trpc-query.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof TrpcQuery>()),
  callMutation: vi.fn(),
}))

const send = vi.mocked(callMutation)
const ROOM = 'a'.repeat(24)
const USER = 'b'.repeat(24)

const networkError = () => new TRPCClientError('fetch failed')
const badRequest = (text = 'body too long') =>
  new TRPCClientError(text, {
    result: {
      error: { message: text, code: -32600, data: { code: 'BAD_REQUEST', httpStatus: 400 } },
    },
  })

const rateLimited = (retryAfterMs: number) =>
  new TRPCClientError('Too many messages', {
    result: {
      error: {
        message: 'Too many messages',
        code: -32029,
        data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429, retryAfterMs },
      },
    },
  })

/** What each queued item is, for comparing queues. */
const describeItem = (i: { kind: string; body?: string; messageId?: string; emoji?: string }) =>
  [i.kind, i.body ?? i.emoji ?? i.messageId].join(' ')

/** The room on screen, with its timeline in the cache. */
function showRoom(...messages: Message[]) {
  queryClient.setQueryData(timelineKey(ROOM), { messages, hasMore: false })
  activeRoomId.value = ROOM
}
const shown = () => getTimeline(queryClient, ROOM)?.messages ?? []

/** Answers like the server: every path succeeds; calls are recorded as `path input…`. */
function server() {
  let seq = 100
  const calls: string[] = []
  send.mockImplementation(async (path, raw) => {
    const input = raw as Record<string, unknown>
    calls.push([path, input.body ?? input.emoji ?? input.messageId].join(' '))
    switch (path) {
      case 'messages.send':
        return message({ seq: ++seq, ...(input as { clientId: string; body: string }) }) as never
      case 'messages.edit':
        return message({
          id: input.messageId as string,
          body: input.body as string,
          editedAt: '2026-01-02T00:00:00.000Z',
        }) as never
      case 'messages.react':
        return { changed: true } as never
      default:
        return { ok: true } as never
    }
  })
  return calls
}

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
  queryClient.clear()
  activeRoomId.value = null
  toasts.value = []
  await openUserDb(USER)
})

afterEach(async () => {
  vi.restoreAllMocks()
  await deleteUserDb(USER)
})

/** The device has no network: until the test ends, or the returned spy is restored. */
const goOffline = () => vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false)


/** A message the device could not store: still sent, and the user told it will not outlive the app. */
async function expectSentUnsaved(): Promise<void> {
  const sent = acceptAll()
  const outbox = useOutboxStore()
  await outbox.enqueue(ROOM, 'still goes out')
  await outbox.flush()
  expect(sent.map((m) => m.body)).toEqual(['still goes out'])
  expect(outbox.items).toEqual([])
  expect(toasts.value.map((t) => [t.kind, t.text])).toEqual([
    ['error', 'Could not save this on your device: it will still be sent, if the app stays open until then'],
  ])
}

/**
 * "Reload": the page goes away (`before`'s timers with it); a fresh pinia and
 * the database reopened give a new store, loaded from what was stored.
 */
async function reload(before?: ReturnType<typeof useOutboxStore>) {
  before?.reset()
  closeUserDb()
  setActivePinia(createPinia())
  await openUserDb(USER)
  const store = useOutboxStore()
  await store.load()
  return store
}

describe('outbox store', () => {
  it('an item is in the store while its send is on the wire', async () => {
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

  it('sends what the device could not store, and says it will not outlive the app', async () => {
    const put = IDBObjectStore.prototype.put
    const full = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['put']>
    ) {
      if (this.name === 'outbox')
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
      return put.apply(this, args)
    })
    try {
      await expectSentUnsaved()
    } finally {
      full.mockRestore()
    }
  })

  it('says a message will not outlive the app when the device cannot open its database, and still sends it', async () => {
    // A database of a newer version of the app: opening version 1 fails, as it
    // can in private mode or with the disk full.
    await deleteUserDb(USER)
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.open(dbName(USER), 99)
      req.onsuccess = () => {
        req.result.close()
        resolve()
      }
      req.onerror = () => reject(req.error)
    })
    await expect(openUserDb(USER)).rejects.toThrow()

    await expectSentUnsaved()
  })

  it('waits while offline, then sends in order once, and empties the store', async () => {
    send.mockRejectedValue(networkError())
    const outbox = useOutboxStore()
    await outbox.enqueue(ROOM, 'one')
    await outbox.enqueue(ROOM, 'two')
    await outbox.enqueue(ROOM, 'three')
    await outbox.flush()
    expect(outbox.items.map((i) => [i.kind === 'send' && i.body, i.status])).toEqual([
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

    const second = await reload()
    const sent = acceptAll()
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
    await outbox.flush() // the first try fails
    outbox.kick()
    await outbox.flush() // so does the second
    outbox.kick()
    await outbox.flush()
    const ids = send.mock.calls.map(([, input]) => (input as { clientId: string }).clientId)
    expect(new Set(ids)).toEqual(new Set([item.clientId]))
    expect(sent).toHaveLength(1)
  })

  it('a rate-limited send waits the retryAfterMs the server names before trying again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const sent = acceptAll()
      send.mockRejectedValueOnce(rateLimited(12_000))
      const outbox = useOutboxStore()
      const item = await outbox.enqueue(ROOM, 'slow down')
      // Tried at once (once stored as on its way), and refused.
      await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(1))
      // The plain backoff would have tried at 2 s, 4 s and 8 s.
      await vi.advanceTimersByTimeAsync(11_000)
      expect(send).toHaveBeenCalledTimes(1)
      expect(outbox.items.find((i) => i.clientId === item.clientId)?.status).toBe('pending')
      await vi.advanceTimersByTimeAsync(1_500)
      // (It leaves once stored as on its way: a write, not a timer.)
      await vi.waitFor(() => expect(sent.map((m) => m.body)).toEqual(['slow down']))
    } finally {
      vi.useRealTimers()
    }
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

describe('outbox store: edits, deletes and reactions', () => {
  const mine = message({
    roomId: ROOM,
    seq: 1,
    body: 'typo',
    author: { id: USER, username: 'me', displayName: 'Me' },
  })
  const doomed = message({ roomId: ROOM, seq: 2, body: 'oops', author: mine.author })
  const theirs = message({ roomId: ROOM, seq: 3, body: 'lunch?' })
  /** A queued send as the list draws it: not on the server yet. */
  const onScreen = (clientId: string) => message({ id: clientId, roomId: ROOM, seq: 0, clientId })

  it('wait offline in one queue with sends, survive a reload, then go out in order', async () => {
    send.mockRejectedValue(networkError())
    const first = useOutboxStore()
    await first.enqueue(ROOM, 'before')
    await first.edit(mine, 'fixed')
    await first.remove(doomed)
    await first.react(theirs, '👍', true, USER)
    await first.enqueue(ROOM, 'after')
    await first.flush()
    expect(first.items.every((i) => i.status === 'pending')).toBe(true)

    const second = await reload()
    const queue = ['send before', 'edit fixed', `delete ${doomed.id}`, 'react 👍', 'send after']
    expect(second.items.map(describeItem)).toEqual(queue)

    const calls = server()
    await second.flush()
    expect(calls).toEqual([
      'messages.send before',
      'messages.edit fixed',
      `messages.delete ${doomed.id}`,
      'messages.react 👍',
      'messages.send after',
    ])
    expect(send.mock.calls.find(([path]) => path === 'messages.react')?.[1]).toEqual({
      messageId: theirs.id,
      emoji: '👍',
      on: true,
    })
    expect(second.items).toEqual([])
    expect(await loadOutbox()).toEqual([])
  })

  it("puts the server's answer into the cached timeline at once (its event may come later)", async () => {
    showRoom(mine, doomed, theirs)
    server()
    const outbox = useOutboxStore()
    await outbox.edit(mine, 'fixed')
    await outbox.remove(doomed)
    await outbox.react(theirs, '🎉', true, USER)
    await outbox.flush()
    const [edited, deleted, reacted] = shown()
    expect(edited).toMatchObject({ body: 'fixed', editedAt: '2026-01-02T00:00:00.000Z' })
    expect(deleted).toMatchObject({ deleted: true, body: '' })
    expect(reacted?.reactions).toEqual([{ emoji: '🎉', count: 1, userIds: [USER] }])
  })

  it('drops a refused change, refetches the timeline, tells the user once, and carries on', async () => {
    const calls = server()
    const answer = send.getMockImplementation()!
    send.mockImplementation(async (path, input) => {
      if (path === 'messages.edit') throw badRequest('The message was deleted')
      return answer(path, input)
    })
    const refetch = vi.spyOn(queryClient, 'invalidateQueries')
    const outbox = useOutboxStore()
    await outbox.edit(mine, 'too late')
    await outbox.enqueue(ROOM, 'next')
    await outbox.flush()
    expect(outbox.items).toEqual([])
    expect(await loadOutbox()).toEqual([])
    expect(toasts.value.map((t) => t.text)).toEqual([
      'Could not edit the message: The message was deleted',
    ])
    expect(refetch).toHaveBeenCalledWith({ queryKey: timelineKey(ROOM) })
    expect(calls).toEqual(['messages.send next'])
    refetch.mockRestore()
  })

  it('keeps a change that fails for want of a network, and sends it later', async () => {
    send.mockRejectedValue(networkError())
    const outbox = useOutboxStore()
    await outbox.remove(doomed)
    await outbox.flush()
    expect(outbox.items).toMatchObject([{ kind: 'delete', status: 'pending' }])
    expect(toasts.value).toEqual([])
    const calls = server()
    outbox.kick()
    await outbox.flush()
    expect(calls).toEqual([`messages.delete ${doomed.id}`])
  })

  it('an edit of an unsent message changes the queued send; a delete drops it', async () => {
    send.mockRejectedValue(networkError())
    const outbox = useOutboxStore()
    const draft = await outbox.enqueue(ROOM, 'draft')
    const oops = await outbox.enqueue(ROOM, 'wrong room')
    const unsent = (clientId: string) => message({ id: clientId, seq: 0, clientId })
    await outbox.edit(unsent(draft.clientId), 'final')
    await outbox.remove(unsent(oops.clientId))
    expect(outbox.items.map(describeItem)).toEqual(['send final'])
    expect((await loadOutbox()).map(describeItem)).toEqual(['send final'])

    const calls = server()
    outbox.kick()
    await outbox.flush()
    expect(calls).toEqual(['messages.send final'])
  })

  it('an edit or delete made while the send is on the wire follows it', async () => {
    showRoom()
    const calls = server()
    const answer = send.getMockImplementation()!
    let land = () => {}
    /** The next call waits for `land()`. */
    const hold = () =>
      send.mockImplementationOnce(async (path, input) => {
        await new Promise<void>((resolve) => (land = resolve))
        return answer(path, input)
      })
    const outbox = useOutboxStore()

    hold()
    const item = await outbox.enqueue(ROOM, 'first try')
    await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(1)) // on the wire
    await outbox.enqueue(ROOM, 'later')
    await outbox.edit(onScreen(item.clientId), 'second try')
    land()
    await outbox.flush()
    expect(calls).toEqual([
      'messages.send first try',
      'messages.edit second try',
      'messages.send later',
    ])
    expect(shown().map((m) => m.body)).toEqual(['second try', 'later'])

    hold()
    const gone = await outbox.enqueue(ROOM, 'never mind')
    await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(4))
    await outbox.remove(onScreen(gone.clientId))
    land()
    await outbox.flush()
    const sent = shown().at(-1)
    expect(calls.slice(3)).toEqual(['messages.send never mind', `messages.delete ${sent?.id}`])
    expect(sent).toMatchObject({ deleted: true })
    expect(outbox.items).toEqual([])
    expect(await loadOutbox()).toEqual([])
  })

  it('a send deleted on the wire whose answer is lost is still deleted on the server, and nothing of it waits on screen', async () => {
    showRoom()
    let lose = () => {}
    send.mockImplementationOnce(
      () => new Promise((_, reject) => (lose = () => reject(networkError()))),
    )
    const outbox = useOutboxStore()
    const gone = await outbox.enqueue(ROOM, 'never mind')
    await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(1))
    expect(outbox.items).toMatchObject([{ clientId: gone.clientId, status: 'sending' }])
    await outbox.remove(onScreen(gone.clientId))
    lose()
    await outbox.flush()
    expect(outbox.forRoom(ROOM)).toEqual([])

    const calls = server()
    outbox.kick()
    await outbox.flush()
    const posted = shown().find((m) => m.clientId === gone.clientId)
    expect(calls).toEqual(['messages.send never mind', `messages.delete ${posted?.id}`])
    expect(posted).toMatchObject({ deleted: true })
    expect(outbox.forRoom(ROOM)).toEqual([])
    expect(outbox.items).toEqual([])
    expect(await loadOutbox()).toEqual([])
  })

  it('a send whose answer was lost, deleted while it waits, is still deleted on the server after a reload', async () => {
    send.mockRejectedValueOnce(networkError())
    const first = useOutboxStore()
    const gone = await first.enqueue(ROOM, 'never mind')
    await first.flush()
    expect(first.items).toMatchObject([{ clientId: gone.clientId, status: 'pending' }])
    await first.remove(onScreen(gone.clientId))
    expect(first.forRoom(ROOM)).toEqual([])

    const second = await reload(first)
    showRoom()
    const calls = server()
    expect(second.forRoom(ROOM)).toEqual([])
    await second.flush()
    const posted = shown().find((m) => m.clientId === gone.clientId)
    expect(calls).toEqual(['messages.send never mind', `messages.delete ${posted?.id}`])
    expect(posted).toMatchObject({ deleted: true })
    expect(second.items).toEqual([])
    expect(await loadOutbox()).toEqual([])
  })

  it('a send the page went away from before its answer came is deleted on the server when deleted after a reload', async () => {
    send.mockImplementationOnce(() => new Promise(() => {})) // the server has it; no answer ever comes
    const first = useOutboxStore()
    const gone = await first.enqueue(ROOM, 'never mind')
    await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(1))

    // "Reload" with the send still on the wire.
    const second = await reload(first)
    showRoom()
    const unsent = second.unsent(onScreen(gone.clientId))
    // What the delete dialog goes by: "It may already have reached the room".
    expect(unsent && mayBePosted(unsent)).toBe(true)
    await second.remove(onScreen(gone.clientId))
    expect(second.forRoom(ROOM)).toEqual([])

    const calls = server()
    await second.flush()
    const posted = shown().find((m) => m.clientId === gone.clientId)
    expect(calls).toEqual(['messages.send never mind', `messages.delete ${posted?.id}`])
    expect(posted).toMatchObject({ deleted: true })
    expect(await loadOutbox()).toEqual([])
  })

  it('a send the server refused for now, without taking it, is stored as not sent', async () => {
    send.mockRejectedValueOnce(rateLimited(60_000))
    const outbox = useOutboxStore()
    const item = await outbox.enqueue(ROOM, 'too fast')
    await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(1))
    // Stored as `sending` as it left; the answer says it did not get in.
    await vi.waitFor(async () =>
      expect(await loadOutbox()).toMatchObject([{ clientId: item.clientId, status: 'pending' }]),
    )
    expect((await loadOutbox())[0]).not.toHaveProperty('unanswered')
    outbox.reset()
  })

  it("sends nothing another of the user's tabs deleted or sent meanwhile, and a send as that tab changed it", async () => {
    send.mockRejectedValue(networkError())
    const outbox = useOutboxStore()
    const gone = await outbox.enqueue(ROOM, 'wrong room')
    const changed = await outbox.enqueue(ROOM, 'draft')
    await outbox.flush()

    // The other tab, with its own copy of the queue, deletes one and edits the other.
    await deleteOutbox(gone.clientId)
    await putOutbox({ ...(changed as OutboxSend), body: 'final' })

    const calls = server()
    outbox.kick()
    await outbox.flush()
    expect(calls).toEqual(['messages.send final'])
    expect(outbox.items).toEqual([])
    expect(await loadOutbox()).toEqual([])
  })

  /**
   * A message queued offline, read by a second tab (with its own copy of the
   * queue, saying it never left), then sent by the first tab with its answer
   * held back until `land()`.
   */
  async function onTheWireInAnotherTab() {
    showRoom()
    const offline = goOffline()
    send.mockRejectedValue(networkError())
    const sender = useOutboxStore()
    const item = await sender.enqueue(ROOM, 'wrong room')
    await sender.flush()
    offline.mockRestore()
    const other = useOutboxStore(createPinia())
    await other.load()
    expect(other.unsent(onScreen(item.clientId))).toMatchObject({ status: 'pending' })

    const calls = server()
    const answerOf = send.getMockImplementation()!
    let answered = (_lost: boolean) => {}
    send.mockImplementationOnce(async (path, input) => {
      const lost = await new Promise<boolean>((resolve) => (answered = resolve))
      const answer = await answerOf(path, input) // taken either way
      if (lost) throw networkError()
      return answer
    })
    sender.kick()
    await vi.waitFor(async () =>
      expect(await getOutbox(item.clientId)).toMatchObject({ status: 'sending' }),
    )
    return {
      sender,
      other,
      item,
      calls,
      land: () => answered(false),
      lose: () => answered(true),
    }
  }

  it("a send another of the user's tabs has on the wire, deleted here from an older copy, is deleted on the server once answered", async () => {
    const { sender, other, item, calls, land } = await onTheWireInAnotherTab()
    await other.remove(onScreen(item.clientId))
    expect(other.forRoom(ROOM)).toEqual([])

    land()
    await sender.flush()
    const posted = shown().find((m) => m.clientId === item.clientId)
    expect(calls).toEqual(['messages.send wrong room', `messages.delete ${posted?.id}`])
    expect(posted).toMatchObject({ deleted: true })
    expect(await loadOutbox()).toEqual([])
    await other.flush() // its copy is let go, not sent
    expect(calls).toHaveLength(2)
    expect(other.items).toEqual([])
  })

  it("a send another of the user's tabs has on the wire, deleted here, is deleted on the server even when its answer is lost", async () => {
    const { sender, other, item, calls, lose } = await onTheWireInAnotherTab()
    await other.remove(onScreen(item.clientId))
    lose()
    await sender.flush()
    expect(await getOutbox(item.clientId)).toMatchObject({ unanswered: true, discarded: true })

    sender.kick()
    await sender.flush()
    const posted = shown().find((m) => m.clientId === item.clientId)
    expect(calls).toEqual([
      'messages.send wrong room',
      'messages.send wrong room',
      `messages.delete ${posted?.id}`,
    ])
    expect(posted).toMatchObject({ deleted: true })
    expect(await loadOutbox()).toEqual([])
  })

  it("a send another of the user's tabs has on the wire, edited here from an older copy, is edited on the server and stays known to have left", async () => {
    const { sender, other, item, calls, land } = await onTheWireInAnotherTab()
    await other.edit(onScreen(item.clientId), 'right room')
    // Were the sending page to go now, the app opened again knows the server may have it.
    const reopened = useOutboxStore(createPinia())
    await reopened.load()
    expect(mayBePosted(reopened.unsent(onScreen(item.clientId))!)).toBe(true)

    land()
    await sender.flush()
    expect(calls).toEqual(['messages.send wrong room', 'messages.edit right room'])
    expect(shown().find((m) => m.clientId === item.clientId)).toMatchObject({ body: 'right room' })
    expect(await loadOutbox()).toEqual([])
  })

  it("a send another of the user's tabs has already posted, deleted here from an older copy, is deleted on the server", async () => {
    const { sender, other, item, calls, land } = await onTheWireInAnotherTab()
    land()
    await sender.flush()
    const posted = shown().find((m) => m.clientId === item.clientId)
    expect(posted).toMatchObject({ body: 'wrong room', deleted: false })

    await other.remove(onScreen(item.clientId))
    await other.flush()
    expect(calls).toEqual(['messages.send wrong room', `messages.delete ${posted?.id}`])
    expect(shown().find((m) => m.clientId === item.clientId)).toMatchObject({ deleted: true })
    expect(other.items).toEqual([])
    expect(await loadOutbox()).toEqual([])
  })

  it('a send that never left the device (offline) is just dropped when deleted', async () => {
    goOffline()
    send.mockRejectedValue(networkError())
    const outbox = useOutboxStore()
    const draft = await outbox.enqueue(ROOM, 'draft')
    await outbox.flush()
    await outbox.remove(onScreen(draft.clientId))
    expect(outbox.items).toEqual([])
    expect(await loadOutbox()).toEqual([])
  })

  it("follows the user's other tab once told the store changed: what was queued and deleted there shows so here", async () => {
    goOffline()
    send.mockRejectedValue(networkError())
    const here = useOutboxStore()
    await here.enqueue(ROOM, 'kept')
    const deletedThere = await here.enqueue(ROOM, 'deleted there')
    const there = useOutboxStore(createPinia())
    await there.load()
    const queuedThere = await there.enqueue(ROOM, 'queued there')
    await there.remove(onScreen(deletedThere.clientId))
    expect(here.forRoom(ROOM).map(describeItem)).toEqual(['send kept', 'send deleted there'])

    await here.follow() // what the other tab's note that the store changed sets off
    expect(here.forRoom(ROOM).map(describeItem)).toEqual(['send kept', 'send queued there'])
    expect(here.unsent(onScreen(queuedThere.clientId))).toMatchObject({ status: 'pending' })
  })

  it("does not trust a read of the store that overlapped this tab's own change: a send deleted meanwhile does not come back", async () => {
    goOffline()
    send.mockRejectedValue(networkError())
    const here = useOutboxStore()
    const item = await here.enqueue(ROOM, 'never mind')
    const reading = here.follow() // another tab's note: the read starts…
    await here.discard(item.clientId) // …and this tab deletes the send before it ends
    await reading
    expect(here.items).toEqual([])
    here.reset()
  })

  it("a send the user's other tab had refused shows failed here, and once discarded there it goes from here too", async () => {
    send.mockRejectedValue(networkError())
    const here = useOutboxStore()
    const item = await here.enqueue(ROOM, 'too long')
    await here.flush()
    const there = useOutboxStore(createPinia())
    await there.load()
    send.mockRejectedValue(badRequest())
    there.kick()
    await there.flush()
    expect(there.items).toMatchObject([{ clientId: item.clientId, status: 'failed' }])

    await here.follow()
    expect(here.items).toMatchObject([
      { clientId: item.clientId, status: 'failed', error: 'body too long' },
    ])
    await there.discard(item.clientId)
    await here.follow()
    expect(here.items).toEqual([])
    expect(await loadOutbox()).toEqual([])
  })

  it('a newer change replaces the queued ones it makes pointless', async () => {
    send.mockRejectedValue(networkError())
    const outbox = useOutboxStore()
    await outbox.edit(mine, 'one')
    await outbox.edit(mine, 'two')
    await outbox.react(theirs, '👍', true, USER)
    await outbox.react(theirs, '❤️', true, USER)
    await outbox.react(theirs, '👍', false, USER)
    expect(outbox.items.map(describeItem)).toEqual(['edit two', 'react ❤️', 'react 👍'])
    expect(outbox.items.at(-1)).toMatchObject({ on: false })
    await outbox.react(mine, '🎉', true, USER)
    await outbox.remove(mine)
    expect(outbox.items.map(describeItem)).toEqual(['react ❤️', 'react 👍', `delete ${mine.id}`])
    expect((await loadOutbox()).map(describeItem)).toEqual(outbox.items.map(describeItem))
  })

  it('loads sends queued before the outbox knew kinds', async () => {
    await putOutbox({
      clientId: 'old-1',
      roomId: ROOM,
      body: 'from an older version',
      order: 1,
      createdAt: new Date().toISOString(),
      status: 'pending',
    } as never)
    const outbox = useOutboxStore()
    await outbox.load()
    expect(outbox.items.map(describeItem)).toEqual(['send from an older version'])
  })
})

describe("outbox store: a sent message and its room's saved history", () => {
  const history = [1, 2, 3].map((seq) => message({ roomId: ROOM, seq, body: `old ${seq}` }))
  const seqsShown = () => shown().map((m) => m.seq)
  const seqsSaved = async () => (await loadRoomCopy(ROOM)).messages.map((m) => m.seq)

  /** The room visited offline and left: its saved copy, and the timeline read from it. */
  async function visitedOffline() {
    await createTimelineSaver()(ROOM, history)
    queryClient.setQueryData(timelineKey(ROOM), {
      messages: history,
      hasMore: true,
      fromCache: true,
    })
  }

  /** The server takes each send at `seq`. */
  const answerAt = (seq: number) =>
    send.mockImplementation(async (_path, input) => message({ seq, ...(input as object) }) as never)

  it('one taken after others wrote in the room (not on screen) is not glued onto the older copy', async () => {
    await visitedOffline()
    answerAt(10) // seqs 4–9: others' messages, never seen here
    const outbox = useOutboxStore()
    await outbox.enqueue(ROOM, 'mine')
    await outbox.flush()
    // What the room shows offline later: the run it had, not 1, 2, 3 then 10.
    expect(await seqsSaved()).toEqual([1, 2, 3])
    expect(seqsShown()).toEqual([1, 2, 3])
    expect(queryClient.getQueryState(timelineKey(ROOM))?.isInvalidated).toBe(true)
  })

  it('one right after what the room had joins its timeline and its saved copy', async () => {
    await visitedOffline()
    answerAt(4)
    const outbox = useOutboxStore()
    await outbox.enqueue(ROOM, 'mine')
    await outbox.flush()
    expect(await seqsSaved()).toEqual([1, 2, 3, 4])
    expect(seqsShown()).toEqual([1, 2, 3, 4])
  })

  it('a change the server took is saved where the saved copy has the message, and adds no older one to it', async () => {
    const all = [1, 2, 3, 4, 5].map((seq) => message({ roomId: ROOM, seq, body: `old ${seq}` }))
    await createTimelineSaver()(ROOM, all.slice(2))
    showRoom(...all) // an older page read since
    server()
    const outbox = useOutboxStore()
    await outbox.edit(all[0]!, 'first, fixed')
    await outbox.edit(all[3]!, 'fourth, fixed')
    await outbox.flush()
    expect(shown().map((m) => m.body)).toEqual(['first, fixed', 'old 2', 'old 3', 'fourth, fixed', 'old 5'])
    const saved = (await loadRoomCopy(ROOM)).messages
    expect(saved.map((m) => [m.seq, m.body])).toEqual([
      [3, 'old 3'],
      [4, 'fourth, fixed'],
      [5, 'old 5'],
    ])
  })

  it("in the room on screen it shows at once, gap or not (the room's events fill it in)", async () => {
    await createTimelineSaver()(ROOM, history)
    showRoom(...history)
    answerAt(10)
    const outbox = useOutboxStore()
    await outbox.enqueue(ROOM, 'mine')
    await outbox.flush()
    expect(seqsShown()).toEqual([1, 2, 3, 10])
    // The saved copy is the on-screen timeline's to write once it is one run.
    expect(await seqsSaved()).toEqual([1, 2, 3])
  })
})
