import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Message } from '@parley/schemas'
import { message } from '../test/factories.ts'
import type { RoomListItem } from '@parley/schemas'
import {
  KEEP_PER_ROOM,
  createTimelineSaver,
  deleteUserDb,
  getLastSeq,
  loadRoomCopy,
  loadRooms,
  openUserDb,
  resetRoom,
  saveRooms,
  setLastSeq,
} from './db.ts'

const USER = 'c'.repeat(24)
const ROOM = 'd'.repeat(24)

let puts: ReturnType<typeof vi.spyOn>
beforeEach(async () => {
  await openUserDb(USER)
  puts = vi.spyOn(IDBObjectStore.prototype, 'put')
})
afterEach(async () => {
  puts.mockRestore()
  await deleteUserDb(USER)
})

const history = (n: number) => Array.from({ length: n }, () => message({ roomId: ROOM }))
const bodies = async () => (await loadRoomCopy(ROOM)).messages.map((m) => m.body)

describe('saving a room for offline reading', () => {
  it('writes the newest messages once; a new message or an edit then costs one write', async () => {
    const save = createTimelineSaver()
    let list: Message[] = history(KEEP_PER_ROOM + 30)
    await save(ROOM, list)
    expect(puts).toHaveBeenCalledTimes(KEEP_PER_ROOM)
    expect(await bodies()).toEqual(list.slice(-KEEP_PER_ROOM).map((m) => m.body))

    // A message arrives: the timeline is a new list sharing the old messages.
    puts.mockClear()
    const arrived = message({ roomId: ROOM, body: 'just arrived' })
    list = [...list, arrived]
    await save(ROOM, list)
    expect(puts).toHaveBeenCalledTimes(1)
    expect(await bodies()).toEqual(list.slice(-KEEP_PER_ROOM).map((m) => m.body))

    // An edit replaces one message object.
    puts.mockClear()
    const i = list.length - 5
    list = list.map((m, j) => (j === i ? { ...m, body: 'edited', editedAt: new Date().toISOString() } : m))
    await save(ROOM, list)
    expect(puts).toHaveBeenCalledTimes(1)
    expect((await bodies()).at(-5)).toBe('edited')

    // Nothing changed: nothing is written.
    puts.mockClear()
    await save(ROOM, [...list])
    expect(puts).not.toHaveBeenCalled()
  })

  it('a save that failed is made again the next time', async () => {
    const save = createTimelineSaver()
    const list = history(3)
    puts.mockImplementationOnce(() => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
    })
    await expect(save(ROOM, list)).rejects.toThrow('quota')
    expect(await bodies()).toEqual([])

    await save(ROOM, list)
    expect(await bodies()).toEqual(list.map((m) => m.body))
  })
})

/** Messages `from`..`to` of ROOM, one per seq. */
const run = (from: number, to: number, over: Partial<Message> = {}) =>
  Array.from({ length: to - from + 1 }, (_, i) => message({ roomId: ROOM, seq: from + i, ...over }))
const seqs = async (roomId = ROOM) => (await loadRoomCopy(roomId)).messages.map((m) => m.seq)

describe('the saved copy of a room is one run the server gave', () => {
  it('a latest page that does not reach what was saved replaces it: no gap, nothing stale', async () => {
    const save = createTimelineSaver()
    // Read a week ago: messages 101–150.
    const before = run(101, 150)
    await save(ROOM, before)
    // Back online: the latest page is 401–450; 120 was deleted by a moderator meanwhile.
    await save(ROOM, run(401, 450))
    expect(await seqs()).toEqual(run(401, 450).map((m) => m.seq))
    expect((await bodies()).some((b) => b === before[19]?.body)).toBe(false)
  })

  it('older pages read in keep the run; an edit in it replaces the saved message', async () => {
    const save = createTimelineSaver()
    const latest = run(401, 450)
    await save(ROOM, latest)
    const older = run(351, 400)
    let list = [...older, ...latest]
    await save(ROOM, list)
    expect(await seqs()).toEqual(list.map((m) => m.seq))
    list = list.map((m) => (m.seq === 360 ? { ...m, body: 'edited' } : m))
    await save(ROOM, list)
    expect((await loadRoomCopy(ROOM)).messages.find((m) => m.seq === 360)?.body).toBe('edited')
  })

  it('a message saved and since removed from the device is written again', async () => {
    const save = createTimelineSaver()
    const list = run(1, 5)
    await save(ROOM, list)
    await resetRoom(ROOM, 5, 'epoch-2') // clears the room's saved messages
    expect(await seqs()).toEqual([])
    await save(ROOM, list)
    expect(await seqs()).toEqual([1, 2, 3, 4, 5])
  })

  it("knows whether the saved copy runs from the room's first message", async () => {
    const save = createTimelineSaver()
    await save(ROOM, run(1, 30), false)
    expect((await loadRoomCopy(ROOM)).fromStart).toBe(true)
    await save(ROOM, run(1, 30), true)
    expect((await loadRoomCopy(ROOM)).fromStart).toBe(false)
    // All of a long room loaded: the newest 200 do not reach its start.
    await save(ROOM, run(1, KEEP_PER_ROOM + 10), false)
    expect((await loadRoomCopy(ROOM)).fromStart).toBe(false)
    // The flag does not disturb the room's resume point.
    await setLastSeq(ROOM, 7)
    await save(ROOM, run(1, 30), false)
    expect(await getLastSeq(ROOM)).toBe(7)
    expect((await loadRoomCopy(ROOM)).fromStart).toBe(true)
  })
})

describe("where a room's events resume after a reload", () => {
  it("from the last event applied, or the saved copy's newest message where the copy was written before it", async () => {
    await setLastSeq(ROOM, 12)
    // Nothing saved of the room (a preview): the last event.
    expect(await getLastSeq(ROOM)).toBe(12)
    const save = createTimelineSaver()
    await save(ROOM, run(1, 30))
    await setLastSeq(ROOM, 30)
    expect(await getLastSeq(ROOM)).toBe(30)
    // An edit of seq 5 (event 31) applied and counted, and the page ended
    // before the copy was written again: replayed from 30, the edit reaches it.
    await setLastSeq(ROOM, 31)
    expect(await getLastSeq(ROOM)).toBe(30)
  })
})

describe("a reset of the room's events", () => {
  it('drops the saved messages when the log is not the one they came from', async () => {
    const save = createTimelineSaver()
    await save(ROOM, run(1, 40))
    // The first reset seen: which log the messages came from is not known.
    await resetRoom(ROOM, 600, 'epoch-1')
    expect(await seqs()).toEqual([])
    await save(ROOM, run(1, 40))
    // Too far behind in the same log: the messages stay, and events resume
    // from the newest of them (what changed them since is replayed, or the
    // server resets the room again).
    await resetRoom(ROOM, 640, 'epoch-1')
    expect(await seqs()).toHaveLength(40)
    expect(await getLastSeq(ROOM)).toBe(40)
    // A reset store: seqs start again, under a new epoch.
    await resetRoom(ROOM, 12, 'epoch-2')
    expect(await seqs()).toEqual([])
    expect(await getLastSeq(ROOM)).toBe(12)
  })
})

describe('saving the room list', () => {
  const OTHER = 'e'.repeat(24)
  const listed = (id: string) =>
    ({ id, lastActivityAt: '2026-01-01T00:00:00.000Z' }) as RoomListItem

  it('drops the saved messages and state of rooms no longer in it', async () => {
    const save = createTimelineSaver()
    await save(ROOM, run(1, 10))
    await save(OTHER, run(1, 10, { roomId: OTHER }))
    await setLastSeq(OTHER, 10)
    await saveRooms([listed(ROOM), listed(OTHER)])
    expect(await seqs(OTHER)).toHaveLength(10)

    // Left on another device: the next list lacks it.
    await saveRooms([listed(ROOM)])
    expect((await loadRooms()).map((r) => r.id)).toEqual([ROOM])
    expect(await seqs(OTHER)).toEqual([])
    expect(await getLastSeq(OTHER)).toBeNull()
    expect(await seqs(ROOM)).toHaveLength(10)
  })
})
