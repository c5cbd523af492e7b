import { describe, expect, it } from 'vitest'
import { createRoomMembers } from '../src/live/room-members.ts'

function setUp(members: Record<string, string[]>) {
  const loads: string[] = []
  let failNext = false
  const index = createRoomMembers(async (roomId) => {
    loads.push(roomId)
    await new Promise((r) => setImmediate(r))
    if (failNext) {
      failNext = false
      throw new Error('database down')
    }
    return members[roomId] ?? []
  })
  return { index, loads, failOnce: () => (failNext = true) }
}

const rooms = (set: ReadonlySet<string>) => [...set].sort()

describe('room members shared by the events.user streams of a node', () => {
  it('streams following one room share one load; a user is found in the held rooms they belong to', async () => {
    const { index, loads } = setUp({ r1: ['ann', 'bob'], r2: ['cat', 'bob'], r3: ['ann'] })
    const [a, b] = await Promise.all([index.hold('r1'), index.hold('r1')])
    const c = await index.hold('r2')
    expect(loads).toEqual(['r1', 'r2'])
    expect(rooms(index.roomsOf('bob'))).toEqual(['r1', 'r2'])
    expect(rooms(index.roomsOf('cat'))).toEqual(['r2'])
    expect(rooms(index.roomsOf('ann'))).toEqual(['r1']) // r3 is not held: not known
    expect(rooms(index.roomsOf('dan'))).toEqual([])
    expect([index.count('r1'), index.count('r2'), index.count('r3')]).toEqual([2, 2, 0])

    a()
    a() // twice is once
    expect(rooms(index.roomsOf('ann'))).toEqual(['r1']) // b still holds it
    b()
    expect(rooms(index.roomsOf('ann'))).toEqual([])
    expect(rooms(index.roomsOf('bob'))).toEqual(['r2'])
    c()
    expect(index.size()).toBe(0)
    expect(rooms(index.roomsOf('bob'))).toEqual([])
  })

  it('follows joins and leaves', async () => {
    const { index } = setUp({ r1: ['ann'] })
    const release = await index.hold('r1')
    index.joined('r1', 'dan')
    expect(rooms(index.roomsOf('dan'))).toEqual(['r1'])
    index.left('r1', 'ann')
    expect(rooms(index.roomsOf('ann'))).toEqual([])
    index.joined('r9', 'ann') // a room not held: ignored
    expect(rooms(index.roomsOf('ann'))).toEqual([])
    release()
    expect(rooms(index.roomsOf('dan'))).toEqual([])
  })

  it('a failed load fails its holders and is not kept: the next stream loads again', async () => {
    const { index, loads, failOnce } = setUp({ r1: ['ann'] })
    failOnce()
    await expect(index.hold('r1')).rejects.toThrow('database down')
    expect(index.size()).toBe(0)
    const release = await index.hold('r1')
    expect(loads).toEqual(['r1', 'r1'])
    expect(rooms(index.roomsOf('ann'))).toEqual(['r1'])
    release()
  })
})
