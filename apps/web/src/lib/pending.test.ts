import { describe, expect, it } from 'vitest'
import type { OutboxAction, OutboxSend } from '../offline/db.ts'
import { message } from '../test/factories.ts'
import { newestUnsent, pendingChanges, withPending } from './pending.ts'

const ME = 'f'.repeat(24)
let n = 0
const base = () => ({
  clientId: `a-${++n}`,
  roomId: 'r',
  order: n,
  createdAt: '2026-01-02T00:00:00.000Z',
  status: 'pending' as const,
})
const edit = (messageId: string, body: string): OutboxAction => ({
  kind: 'edit',
  messageId,
  body,
  ...base(),
})
const remove = (messageId: string): OutboxAction => ({ kind: 'delete', messageId, ...base() })
const react = (messageId: string, emoji: string, on: boolean): OutboxAction => ({
  kind: 'react',
  messageId,
  emoji,
  on,
  userId: ME,
  ...base(),
})

describe('withPending', () => {
  const a = message({ seq: 1, body: 'a' })
  const b = message({ seq: 2, body: 'b', reactions: [{ emoji: '👍', count: 1, userIds: ['x'] }] })
  const c = message({ seq: 3, body: 'c' })

  it('shows queued changes over the server copy, in order, and leaves the rest alone', () => {
    const shown = withPending(
      [a, b, c],
      [edit(a.id, 'a1'), react(b.id, '👍', true), edit(a.id, 'a2'), remove(c.id)],
    )
    expect(shown[0]).toMatchObject({ body: 'a2', editedAt: '2026-01-02T00:00:00.000Z' })
    expect(shown[1]?.reactions).toEqual([{ emoji: '👍', count: 2, userIds: ['x', ME] }])
    expect(shown[2]).toMatchObject({ deleted: true, body: '' })
    expect(withPending([a, b], [edit(c.id, 'elsewhere')])).toEqual([a, b])
  })

  it('returns the same list when nothing waits, and nothing revives a deleted message', () => {
    const list = [a, b]
    expect(withPending(list, [])).toBe(list)
    expect(withPending([a], [remove(a.id), edit(a.id, 'late')])[0]).toMatchObject({
      deleted: true,
      body: '',
    })
  })
})

describe('pendingChanges', () => {
  it('names the weightiest change per message: delete, then edit, then reaction', () => {
    const changes = pendingChanges([
      react('m1', '👍', true),
      edit('m1', 'x'),
      react('m1', '🎉', false),
      react('m2', '👍', true),
      react('m2', '🎉', false),
      remove('m3'),
      edit('m3', 'y'),
    ])
    expect(changes.get('m1')?.kind).toBe('edit')
    expect(changes.get('m2')).toMatchObject({ kind: 'react', emoji: '🎉', on: false })
    expect(changes.get('m3')?.kind).toBe('delete')
  })
})

describe('newestUnsent', () => {
  const send = (roomId: string, body: string, extra: Partial<OutboxSend> = {}): OutboxSend => ({
    kind: 'send',
    body,
    ...base(),
    roomId,
    ...extra,
  })

  it("is each room's newest send still waiting or refused, whatever the changes queued after it", () => {
    const queue = [
      send('a', 'first in a'),
      send('b', 'refused in b', { status: 'failed', error: 'Not a member' }),
      send('a', 'second in a', { status: 'sending' }),
      edit('m1', 'an edit in r'),
    ]
    const newest = newestUnsent(queue)
    expect([...newest.keys()].sort()).toEqual(['a', 'b'])
    expect(newest.get('a')?.body).toBe('second in a')
    expect(newest.get('b')?.status).toBe('failed')
  })

  it('leaves out a send the user discarded (it waits only to be deleted on the server)', () => {
    const newest = newestUnsent([send('a', 'kept'), send('a', 'discarded', { discarded: true })])
    expect(newest.get('a')?.body).toBe('kept')
    expect(newestUnsent([send('b', 'gone', { discarded: true })]).size).toBe(0)
  })
})
