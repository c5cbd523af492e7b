import { expect, it } from 'vitest'
import type { RoomListItem } from '@parley/schemas'
import { roomAlong, roomChangeNotice } from './rooms.ts'

const by = { id: 'a'.repeat(24), username: 'alice', displayName: 'Alice Martin' }
const update = (name: string, topic: string | null) =>
  ({ type: 'room.updated', roomId: 'r'.repeat(24), seq: 9, name, topic, by }) as const

it('says who changed what in the room, in words', () => {
  const before = { name: 'general', topic: 'Say hi' }
  expect(roomChangeNotice(before, update('lobby', 'Say hi'))).toBe(
    'Alice Martin renamed the room to “lobby”',
  )
  expect(roomChangeNotice(before, update('lobby', null))).toBe(
    'Alice Martin renamed the room to “lobby” and changed its topic',
  )
  expect(roomChangeNotice(before, update('general', 'Standup at 10'))).toBe(
    'Alice Martin changed the topic to “Standup at 10”',
  )
  expect(roomChangeNotice(before, update('general', null))).toBe('Alice Martin cleared the topic')
  // Already shown (the other stream brought it first): nothing to say.
  expect(roomChangeNotice(before, update('general', 'Say hi'))).toBe('')
  // An empty topic and none look the same.
  expect(roomChangeNotice({ name: 'general', topic: '' }, update('general', null))).toBe('')
})

it('cuts a long topic short in the notice', () => {
  const notice = roomChangeNotice(
    { name: 'general', topic: null },
    update('general', 'x'.repeat(256)),
  )
  expect(notice).toBe(`Alice Martin changed the topic to “${'x'.repeat(79)}…”`)
})

it('Alt+↑/↓ steps through the list as shown, and with Shift to the nearest unread room; it stops at the ends', () => {
  const unreadCounts = { a: 0, b: 2, c: 0, d: 1 }
  const list = Object.entries(unreadCounts).map(([id, unread]) => ({ id, unread }) as RoomListItem)
  const along = (from: string | null, step: 1 | -1, unread = false) =>
    roomAlong(list, from, step, unread)?.id ?? null
  expect([along('b', 1), along('b', -1), along('a', -1), along('d', 1)]).toEqual([
    'c',
    'a',
    null,
    null,
  ])
  // From no room of the list (the directory, a room just left): its first, or its last.
  expect([along(null, 1), along(null, -1), along('gone', 1)]).toEqual(['a', 'd', 'a'])
  expect([
    along('a', 1, true),
    along('b', 1, true),
    along('d', -1, true),
    along('b', -1, true),
  ]).toEqual(['b', 'd', 'b', null])
})
