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

describe('room members shared by the events.user streams of a node', () => {
  it('streams following one room share one load; a user shares a room only with its members', async () => {
    const { index, loads } = setUp({ r1: ['ann', 'bob'], r2: ['cat'] })
    const [a, b] = await Promise.all([index.hold('r1'), index.hold('r1')])
    const c = await index.hold('r2')
    expect(loads).toEqual(['r1', 'r2'])
    expect(index.shares(['r1'], 'bob')).toBe(true)
    expect(index.shares(['r1'], 'cat')).toBe(false)
    expect(index.shares(['r1', 'r2'], 'cat')).toBe(true)
    expect(index.shares(['r3'], 'ann')).toBe(false) // not held: not known

    a()
    a() // twice is once
    expect(index.shares(['r1'], 'ann')).toBe(true) // b still holds it
    b()
    c()
    expect(index.size()).toBe(0)
    expect(index.shares(['r1'], 'ann')).toBe(false)
  })

  it('follows joins and leaves', async () => {
    const { index } = setUp({ r1: ['ann'] })
    const release = await index.hold('r1')
    index.joined('r1', 'dan')
    expect(index.shares(['r1'], 'dan')).toBe(true)
    index.left('r1', 'ann')
    expect(index.shares(['r1'], 'ann')).toBe(false)
    release()
  })

  it('a failed load fails its holders and is not kept: the next stream loads again', async () => {
    const { index, loads, failOnce } = setUp({ r1: ['ann'] })
    failOnce()
    await expect(index.hold('r1')).rejects.toThrow('database down')
    expect(index.size()).toBe(0)
    const release = await index.hold('r1')
    expect(loads).toEqual(['r1', 'r1'])
    expect(index.shares(['r1'], 'ann')).toBe(true)
    release()
  })
})
