import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Message } from '@parley/schemas'
import { message } from '../test/factories.ts'
import { KEEP_PER_ROOM, createTimelineSaver, deleteUserDb, loadMessages, openUserDb } from './db.ts'

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
const bodies = async () => (await loadMessages(ROOM)).map((m) => m.body)

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
