import type { RoomListItem } from '@parley/schemas'
import { describe, expect, it } from 'vitest'
import { listedRoom, message, user } from '../test/factories.ts'
import { mergeRoomList } from './cache.ts'

const me = user()
const bob = user()

describe('a fresh room list over the one held', () => {
  it('keeps what the page heard since the server read it: our message sent, its place at the top', () => {
    const before = message({ seq: 10, author: me, body: 'Before the tunnel' })
    const sent = message({ seq: 12, author: me, body: 'see you at nine' })
    const other = listedRoom({ id: 'other', lastActivityAt: '2026-01-01T12:00:05.000Z' })
    const fresh = [other, listedRoom({ lastMessage: before, unread: 3 })]
    const held = [listedRoom({ lastMessage: sent, unread: 0 }), other]
    const merged = mergeRoomList(held, fresh, me.id)
    expect(merged.map((r) => r.id)).toEqual([listedRoom().id, 'other'])
    expect(merged[0]).toMatchObject({ seq: 12, lastMessage: sent, lastActivityAt: sent.createdAt })
    // Our own message is no news: the server's count (missed while away) stands.
    expect(merged[0]!.unread).toBe(3)
  })

  it("keeps the held unread count where the page heard from someone else or read since; otherwise the server's", () => {
    const old = message({ seq: 5, author: bob })
    const news = message({ seq: 6, author: bob })
    /** The one room, as merged from what is held and what the server says. */
    const merged = (held: Partial<RoomListItem>, fresh: Partial<RoomListItem>) =>
      mergeRoomList([listedRoom(held)], [listedRoom(fresh)], me.id)[0]
    // Bob wrote after the server read the list: his news counts.
    expect(
      merged(
        { lastMessage: news, unread: 1, lastReadSeq: 5 },
        { lastMessage: old, lastReadSeq: 5 },
      ),
    ).toMatchObject({ unread: 1, lastMessage: news })
    // Read here after the server read the list: nothing is unread.
    expect(
      merged(
        { lastMessage: news, unread: 0, lastReadSeq: 6 },
        { lastMessage: news, unread: 2, lastReadSeq: 4 },
      ),
    ).toMatchObject({ unread: 0, lastReadSeq: 6 })
    const unreadFresh = [listedRoom({ lastMessage: news, unread: 2, lastReadSeq: 4 })]
    // Nothing newer held: the server's list as it is.
    const stale = [listedRoom({ lastMessage: old, unread: 1, lastReadSeq: 4 })]
    expect(mergeRoomList(stale, unreadFresh, me.id)).toEqual(unreadFresh)
  })

  it("takes the server's room where its log was replaced, and its membership, name and role always", () => {
    const mine = listedRoom({ lastMessage: message({ seq: 40 }), unread: 7, epoch: 'e1' })
    const reset = listedRoom({ lastMessage: message({ seq: 2 }), unread: 0, epoch: 'e2' })
    expect(mergeRoomList([mine], [reset], me.id)).toEqual([reset])
    const renamed = listedRoom({ name: 'renamed', role: 'admin', lastMessage: message({ seq: 1 }) })
    const merged = mergeRoomList([mine, listedRoom({ id: 'gone' })], [renamed], me.id)
    expect(merged.map((r) => [r.id, r.name, r.role])).toEqual([[renamed.id, 'renamed', 'admin']])
    expect(mergeRoomList(undefined, [renamed], me.id)).toEqual([renamed])
  })
})
