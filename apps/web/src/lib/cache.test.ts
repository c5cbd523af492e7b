import { QueryClient } from '@tanstack/vue-query'
import { describe, expect, it } from 'vitest'
import type { Member } from '@parley/schemas'
import { listedRoom, message, user } from '../test/factories.ts'
import {
  getRoomList,
  membersKey,
  mergeRoomList,
  patchRoom,
  renameUser,
  roomListKey,
  updateRoomList,
  withChangesWhileAsked,
} from './cache.ts'

const me = user()
const bob = user()

describe('a fresh room list over the one held', () => {
  it('keeps what the page heard since the server read it: our message sent, its place at the top', () => {
    const before = message({ seq: 10, author: me, body: 'Before the tunnel' })
    const sent = message({ seq: 12, author: me, body: 'see you at nine' })
    const other = listedRoom({ id: 'other', lastActivityAt: '2026-01-01T12:00:05.000Z' })
    const fresh = [other, listedRoom({ lastMessage: before, unread: 3 })]
    const held = [listedRoom({ lastMessage: sent, unread: 0 }), other]
    const merged = mergeRoomList(held, fresh)
    expect(merged.map((r) => r.id)).toEqual([listedRoom().id, 'other'])
    expect(merged[0]).toMatchObject({ seq: 12, lastMessage: sent, lastActivityAt: sent.createdAt })
    // What was unread, and up to where it was read, are the server's: they place the "New" line.
    expect(merged[0]).toMatchObject({ unread: 3, lastReadSeq: 0 })
  })

  it("takes the server's room where nothing newer is held, or its log was replaced; its membership, name and role always", () => {
    const news = message({ seq: 6, author: bob })
    const fresh = [listedRoom({ lastMessage: news, unread: 2, lastReadSeq: 4 })]
    const stale = [listedRoom({ lastMessage: message({ seq: 5 }), unread: 0, lastReadSeq: 6 })]
    expect(mergeRoomList(stale, fresh)).toEqual(fresh)
    const mine = listedRoom({ lastMessage: message({ seq: 40 }), unread: 7, epoch: 'e1' })
    const reset = listedRoom({ lastMessage: message({ seq: 2 }), unread: 0, epoch: 'e2' })
    expect(mergeRoomList([mine], [reset])).toEqual([reset])
    const renamed = listedRoom({ name: 'renamed', role: 'admin', lastMessage: message({ seq: 1 }) })
    const merged = mergeRoomList([mine, listedRoom({ id: 'gone' })], [renamed])
    expect(merged.map((r) => [r.id, r.name, r.role])).toEqual([[renamed.id, 'renamed', 'admin']])
    expect(mergeRoomList(undefined, [renamed])).toEqual([renamed])
  })
})

describe('a room list answer that was on its way while the list changed', () => {
  it('keeps a room added, a room left and a newer unread count heard meanwhile; what changed before it was asked for is the server’s', async () => {
    const qc = new QueryClient()
    const a = listedRoom({ id: 'a', name: 'from the server', unread: 1 })
    const b = listedRoom({ id: 'b' })
    const added = listedRoom({ id: 'added' })
    qc.setQueryData(roomListKey(), [a, b])
    patchRoom(qc, 'a', { name: 'renamed here before asking' })

    let answer!: (rooms: (typeof a)[]) => void
    const settled = withChangesWhileAsked(new Promise((resolve) => (answer = resolve)))
    patchRoom(qc, 'a', { unread: 2 })
    updateRoomList(qc, (rooms) => [...rooms, added])
    updateRoomList(qc, (rooms) => rooms.filter((r) => r.id !== 'b'))
    answer([a, b])

    expect(await settled).toEqual([{ ...a, unread: 2 }, added])
    // Once answered it notes nothing more: a later answer is taken as it comes.
    patchRoom(qc, 'a', { unread: 5 })
    expect(await withChangesWhileAsked(Promise.resolve([a]))).toEqual([a])
  })

  it('leaves out this page’s own read marker: the server’s count and marker place the “New” line', async () => {
    const qc = new QueryClient()
    const fromServer = listedRoom({ id: 'a', unread: 4, lastReadSeq: 6 })
    qc.setQueryData(roomListKey(), [fromServer])
    let answer!: (rooms: (typeof fromServer)[]) => void
    const settled = withChangesWhileAsked(new Promise((resolve) => (answer = resolve)))
    patchRoom(qc, 'a', { unread: 0, lastReadSeq: 10 }, { remade: false })
    answer([fromServer])
    expect(await settled).toEqual([fromServer])
  })

  it('passes a failed request’s error on', async () => {
    await expect(withChangesWhileAsked(Promise.reject(new Error('socket closed')))).rejects.toThrow(
      'socket closed',
    )
  })
})

describe('someone’s new name', () => {
  it('shows in every member list held and in the direct room shared with them; other rooms and people stay as they were', () => {
    const qc = new QueryClient()
    const carol = user()
    const dm = listedRoom({ id: 'dm', direct: true, directPeople: [me, bob] })
    const other = listedRoom({ id: 'other', direct: true, directPeople: [me, carol] })
    const plain = listedRoom({ id: 'plain' })
    qc.setQueryData(roomListKey(), [dm, other, plain])
    const row = (u: typeof me): Member => ({ user: u, role: 'member', online: true })
    qc.setQueryData(membersKey('plain'), [row(me), row(bob)])
    qc.setQueryData(membersKey('another'), [row(carol)])

    const renamed = { ...bob, displayName: 'Robert' }
    renameUser(qc, renamed)
    expect(getRoomList(qc)?.map((r) => r.directPeople?.map((p) => p.displayName))).toEqual([
      [me.displayName, 'Robert'],
      [me.displayName, carol.displayName],
      undefined,
    ])
    expect(qc.getQueryData<Member[]>(membersKey('plain'))).toEqual([
      row(me),
      { ...row(bob), user: renamed },
    ])
    expect(qc.getQueryData<Member[]>(membersKey('another'))).toEqual([row(carol)])
  })
})
