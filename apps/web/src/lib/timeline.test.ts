import { describe, expect, it } from 'vitest'
import type { Message, RoomEvent } from '@parley/schemas'
import { created, message } from '../test/factories.ts'
import {
  applyRoomEvent,
  mergeLatest,
  prependOlder,
  toggleReaction,
  upsertMessages,
} from './timeline.ts'

const seqs = (list: { seq: number }[]) => list.map((m) => m.seq)

describe('applyRoomEvent', () => {
  it('inserts created messages in seq order, whatever order they arrive in', () => {
    let list = [message({ seq: 1 }), message({ seq: 4 })]
    list = applyRoomEvent(list, created(message({ seq: 3 })))
    list = applyRoomEvent(list, created(message({ seq: 7 })))
    list = applyRoomEvent(list, created(message({ seq: 2 })))
    expect(seqs(list)).toEqual([1, 2, 3, 4, 7])
  })

  it('dedupes by seq: a replayed message.created changes nothing', () => {
    const edited = message({ seq: 5, body: 'edited', editedAt: '2026-01-01T13:00:00.000Z' })
    const list = [message({ seq: 4 }), edited]
    const after = applyRoomEvent(list, created(message({ seq: 5, body: 'original' })))
    expect(after).toBe(list)
    expect(after[1]?.body).toBe('edited')
  })

  it('applies an update by message id and keeps order', () => {
    const m = message({ seq: 2 })
    const list = [message({ seq: 1 }), m, message({ seq: 3 })]
    const updated: RoomEvent = {
      type: 'message.updated',
      roomId: m.roomId,
      seq: 10,
      message: { ...m, body: 'new body', editedAt: '2026-01-02T00:00:00.000Z' },
    }
    const after = applyRoomEvent(list, updated)
    expect(seqs(after)).toEqual([1, 2, 3])
    expect(after[1]).toMatchObject({ body: 'new body', editedAt: '2026-01-02T00:00:00.000Z' })
  })

  it('turns a deleted message into a tombstone that later updates and reactions leave alone', () => {
    const m = message({ seq: 2, reactions: [{ emoji: '👍', count: 1, userIds: ['u'] }] })
    let list = [message({ seq: 1 }), m]
    list = applyRoomEvent(list, {
      type: 'message.deleted',
      roomId: m.roomId,
      seq: 11,
      message: { ...m, deleted: true },
    })
    expect(list[1]).toMatchObject({ id: m.id, seq: 2, deleted: true, body: '', reactions: [] })
    list = applyRoomEvent(list, {
      type: 'message.updated',
      roomId: m.roomId,
      seq: 12,
      message: { ...m, body: 'zombie' },
    })
    list = applyRoomEvent(list, {
      type: 'reaction',
      roomId: m.roomId,
      seq: 13,
      messageId: m.id,
      userId: 'u',
      emoji: '🎉',
      on: true,
      reactions: [{ emoji: '🎉', count: 1, userIds: ['u'] }],
    })
    expect(list[1]).toMatchObject({ deleted: true, body: '', reactions: [] })
  })

  it('applies each reaction as a delta: two people reacting at once both count, whichever list the later event carries', () => {
    const m = message({ seq: 3 })
    const react = (seq: number, userId: string, on: boolean, reactions: Message['reactions']) =>
      ({ type: 'reaction', roomId: m.roomId, seq, messageId: m.id, userId, emoji: '❤️', on, reactions }) as const
    // b's write landed second but its event got the lower seq: a's event lists only a.
    let list = applyRoomEvent([m], react(20, 'b', true, [{ emoji: '❤️', count: 2, userIds: ['a', 'b'] }]))
    list = applyRoomEvent(list, react(21, 'a', true, [{ emoji: '❤️', count: 1, userIds: ['a'] }]))
    expect(list[0]?.reactions).toEqual([{ emoji: '❤️', count: 2, userIds: ['b', 'a'] }])
    // Replayed after a reconnect, nothing counts twice; taking one back leaves the other.
    list = applyRoomEvent(list, react(20, 'b', true, []))
    list = applyRoomEvent(list, react(22, 'b', false, []))
    expect(list[0]?.reactions).toEqual([{ emoji: '❤️', count: 1, userIds: ['a'] }])
  })

  it('keeps the reactions it holds when a message is edited (the edit carries them as read before it)', () => {
    const m = message({ seq: 3, reactions: [{ emoji: '👍', count: 1, userIds: ['a'] }] })
    const edited = { ...m, body: 'edited', editedAt: '2026-12-05T07:00:00.000Z', reactions: [] }
    const [after] = applyRoomEvent([m], { type: 'message.updated', roomId: m.roomId, seq: 30, message: edited })
    expect(after).toMatchObject({ body: 'edited', editedAt: edited.editedAt, reactions: [{ emoji: '👍', count: 1, userIds: ['a'] }] })
  })

  it('ignores events about messages outside the loaded window and member events', () => {
    const list = [message({ seq: 50 })]
    const far = message({ seq: 1 })
    expect(
      applyRoomEvent(list, { type: 'message.updated', roomId: far.roomId, seq: 60, message: far }),
    ).toBe(list)
    expect(
      applyRoomEvent(list, {
        type: 'member.left',
        roomId: far.roomId,
        seq: 61,
        userId: 'x',
        reason: 'left',
      }),
    ).toBe(list)
  })
})

describe('timeline pages', () => {
  it('upsertMessages lets incoming win and sorts', () => {
    const out = upsertMessages(
      [message({ seq: 2, body: 'old' }), message({ seq: 1 })],
      [message({ seq: 2, body: 'new' })],
    )
    expect(seqs(out)).toEqual([1, 2])
    expect(out[1]?.body).toBe('new')
  })

  it("mergeLatest over a copy seeded from IndexedDB: fresh data wins, and the copy's older messages stay where the page overlaps it", () => {
    const cached = {
      messages: [message({ seq: 1 }), message({ seq: 2, body: 'stale' })],
      hasMore: true,
      fromCache: true,
    }
    const fresh = {
      messages: [message({ seq: 2, body: 'fresh' }), message({ seq: 3 })],
      hasMore: true,
    }
    const out = mergeLatest(cached, fresh)
    // Someone may be reading seq 1 on a slow network: it does not vanish under them.
    expect(seqs(out.messages)).toEqual([1, 2, 3])
    expect(out.messages[1]?.body).toBe('fresh')
    expect(out.hasMore).toBe(true)
    expect(out.fromCache).toBeUndefined()
    // From the room's start, the copy says so still.
    expect(mergeLatest({ ...cached, hasMore: false }, fresh).hasMore).toBe(false)
  })

  it('mergeLatest drops the copy where the page holds other messages at the same seqs (the log was replaced), or it lies across a gap', () => {
    const cached = {
      messages: [1, 2, 3].map((seq) => message({ seq })),
      hasMore: true,
      fromCache: true,
    }
    const otherLog = {
      messages: [3, 4].map((seq) => message({ seq, id: `f${'0'.repeat(21)}${seq}0` })),
      hasMore: true,
    }
    expect(seqs(mergeLatest(cached, otherLog).messages)).toEqual([3, 4])
    expect(mergeLatest(cached, otherLog).messages[0]?.id).toBe(otherLog.messages[0]?.id)
    const afterGap = { messages: [5, 6].map((seq) => message({ seq })), hasMore: true }
    expect(seqs(mergeLatest(cached, afterGap).messages)).toEqual([5, 6])
  })

  it('mergeLatest keeps live messages newer than the page over a cache seeded from IndexedDB', () => {
    // Reload: the cache is seeded, the resumed subscription delivers seq 5 before the page (up to 4) lands.
    const cached = { messages: [message({ seq: 3 }), message({ seq: 5, body: 'live' })], hasMore: true, fromCache: true }
    const fresh = { messages: [3, 4].map((seq) => message({ seq })), hasMore: true }
    const out = mergeLatest(cached, fresh)
    expect(seqs(out.messages)).toEqual([3, 4, 5])
    expect(out.messages[2]?.body).toBe('live')
    expect(out.fromCache).toBeUndefined()
  })

  it('mergeLatest keeps loaded older messages when the page overlaps, and newer live ones', () => {
    const existing = { messages: [1, 2, 3, 4, 9].map((seq) => message({ seq })), hasMore: false }
    const fresh = { messages: [3, 4, 5].map((seq) => message({ seq })), hasMore: true }
    const out = mergeLatest(existing, fresh)
    expect(seqs(out.messages)).toEqual([1, 2, 3, 4, 5, 9])
    expect(out.hasMore).toBe(false)
  })

  it('mergeLatest drops older messages across a gap', () => {
    const existing = { messages: [1, 2].map((seq) => message({ seq })), hasMore: false }
    const fresh = { messages: [40, 41].map((seq) => message({ seq })), hasMore: true }
    const out = mergeLatest(existing, fresh)
    expect(seqs(out.messages)).toEqual([40, 41])
    expect(out.hasMore).toBe(true)
  })

  it('prependOlder adds a page in front', () => {
    const out = prependOlder(
      { messages: [message({ seq: 10 })], hasMore: true },
      { messages: [message({ seq: 8 }), message({ seq: 9 })], hasMore: false },
    )
    expect(seqs(out.messages)).toEqual([8, 9, 10])
    expect(out.hasMore).toBe(false)
  })
})

describe('toggleReaction', () => {
  it('adds, counts and removes one user’s reaction', () => {
    let r = toggleReaction([], '👍', 'me', true)
    expect(r).toEqual([{ emoji: '👍', count: 1, userIds: ['me'] }])
    r = toggleReaction(r, '👍', 'me', true)
    expect(r[0]?.count).toBe(1)
    r = toggleReaction([{ emoji: '👍', count: 2, userIds: ['me', 'you'] }], '👍', 'me', false)
    expect(r).toEqual([{ emoji: '👍', count: 1, userIds: ['you'] }])
    expect(toggleReaction(r, '👍', 'you', false)).toEqual([])
  })
})
