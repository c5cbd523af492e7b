import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { RoomListItem } from '@parley/schemas'
import {
  addOutbox,
  closeUserDb,
  deleteUserDb,
  discardOutbox,
  loadOutbox,
  loadRooms,
  openUserDb,
  putOutbox,
  saveRooms,
  type OutboxSend,
} from './db.ts'
import { keepUntilStored, leftUnstored } from './unstored.ts'

const USER = 'e'.repeat(24)
const OTHER = 'f'.repeat(24)
const ROOM = 'a'.repeat(24)

let n = 0
const send = (body: string): OutboxSend => ({
  kind: 'send',
  clientId: `unstored-${++n}`,
  roomId: ROOM,
  order: n,
  createdAt: new Date().toISOString(),
  status: 'pending',
  body,
})
const listed = (id: string, body: string) =>
  ({ id, lastActivityAt: '2026-01-01T00:00:00.000Z', lastMessage: { body } }) as RoomListItem

/** What localStorage holds for pages that went away. */
const kept = () => Object.keys(localStorage).filter((k) => k.startsWith('parley:unstored:'))
const outboxKey = (userId: string, item: OutboxSend) =>
  `parley:unstored:${userId}:outbox:${item.clientId}`
const roomsKey = (userId: string) => `parley:unstored:${userId}:rooms`
/** The page went before its IndexedDB write landed: what it kept in localStorage stays there. */
const leftBehind = (key: string, value: unknown) => void keepUntilStored(key, value)

const bodies = async () => (await loadOutbox()).map((i) => (i.kind === 'send' ? i.body : i.kind))

/** The app starts again (a reload, the app opened later): a new connection to the user's database. */
async function startAgain(): Promise<void> {
  closeUserDb()
  await openUserDb(USER)
}

beforeEach(async () => {
  localStorage.clear()
  await openUserDb(USER)
})
afterEach(async () => {
  await deleteUserDb(USER)
})

describe('a new outbox item, until IndexedDB has stored it', () => {
  it('is in localStorage from the call on, and only in IndexedDB once stored', async () => {
    const item = send('hello')
    const write = addOutbox(item)
    expect(kept()).toEqual([outboxKey(USER, item)])
    await write
    expect(kept()).toEqual([])
    expect(await loadOutbox()).toEqual([item])
  })

  it('left behind by a page that went before its write landed, is stored at the next start, before the outbox is read', async () => {
    const item = send('right before the reload')
    leftBehind(outboxKey(USER, item), item)
    const someoneElses = send('not this user’s')
    leftBehind(outboxKey(OTHER, someoneElses), someoneElses)

    await startAgain()
    expect(await loadOutbox()).toEqual([item])
    expect(kept()).toEqual([outboxKey(OTHER, someoneElses)])
  })

  it("is not put over the store's copy, which may have changed since (refused, edited in another tab)", async () => {
    const item = send('first words')
    leftBehind(outboxKey(USER, item), item) // the write landed; the page went before it could say so
    await putOutbox({ ...item, body: 'edited words', status: 'failed', error: 'Too long' })

    await startAgain()
    expect(await loadOutbox()).toMatchObject([{ body: 'edited words', status: 'failed' }])
    expect(kept()).toEqual([])
  })

  it("tells the user's other tabs when it adds something, so they show it too", async () => {
    const otherTab = new BroadcastChannel(`parley-outbox:${USER}`)
    const heard: unknown[] = []
    otherTab.onmessage = (e: MessageEvent) => heard.push(e.data)
    try {
      const item = send('from the page that went')
      leftBehind(outboxKey(USER, item), item)
      await startAgain()
      await expect.poll(() => heard).toEqual(['changed'])
    } finally {
      otherTab.close()
    }
  })

  it('deleted by the user before its write landed, does not come back at the next start', async () => {
    const item = send('never mind')
    leftBehind(outboxKey(USER, item), item)
    await discardOutbox(item.clientId)
    const other = send('another, still on its way')
    leftBehind(outboxKey(USER, other), other)

    await startAgain()
    expect(await bodies()).toEqual(['another, still on its way'])
  })

  it('something unreadable is dropped, and the outbox still opens', async () => {
    localStorage.setItem(`parley:unstored:${USER}:outbox:broken`, '{not json')
    localStorage.setItem(`parley:unstored:${USER}:outbox:odd`, '"no item"')
    await startAgain()
    expect(await loadOutbox()).toEqual([])
    expect(kept()).toEqual([])
  })
})

describe('the room list saved as the page may end', () => {
  it('is in localStorage until IndexedDB has it; saved any other time, it is not', async () => {
    const rooms = [listed(ROOM, 'Fresh news')]
    const hiding = saveRooms(rooms, { pageMayEnd: true })
    expect(kept()).toEqual([roomsKey(USER)])
    await hiding
    expect(kept()).toEqual([])

    const settled = saveRooms([listed(ROOM, 'Later news')])
    expect(kept()).toEqual([])
    await settled
    expect((await loadRooms())[0]?.lastMessage?.body).toBe('Later news')
  })

  it('saved again while the first write is on its way, the newer list stays kept until its own write lands', async () => {
    const first = saveRooms([listed(ROOM, 'News')], { pageMayEnd: true })
    const newer = [listed(ROOM, 'Newer news')]
    const second = saveRooms(newer, { pageMayEnd: true })
    await first
    expect(localStorage.getItem(roomsKey(USER))).toBe(JSON.stringify(newer))
    await second
    expect(kept()).toEqual([])
  })

  it('kept again by another tab while this start stores the one it found, stays kept for that tab', () => {
    leftBehind(roomsKey(USER), [listed(ROOM, 'Found at the start')])
    const [found] = leftUnstored(roomsKey(USER))
    const newer = [listed(ROOM, 'Kept by the other tab as it is hidden')]
    leftBehind(roomsKey(USER), newer)
    found!.drop()
    expect(localStorage.getItem(roomsKey(USER))).toBe(JSON.stringify(newer))
  })

  it('left behind by a page that went before its write landed, is what the next start reads', async () => {
    await saveRooms([listed(ROOM, 'Old news')])
    leftBehind(roomsKey(USER), [listed(ROOM, 'Fresh news'), listed(OTHER, 'A room just added')])

    await startAgain()
    expect((await loadRooms()).map((r) => r.lastMessage?.body).sort()).toEqual([
      'A room just added',
      'Fresh news',
    ])
    expect(kept()).toEqual([])
  })
})

describe('at sign-out', () => {
  it("everything kept goes with the rest of the user's data", async () => {
    const item = send('never stored')
    leftBehind(outboxKey(USER, item), item)
    leftBehind(roomsKey(USER), [listed(ROOM, 'news')])
    await deleteUserDb(USER)
    expect(kept()).toEqual([])
  })
})
