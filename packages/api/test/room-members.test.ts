import { describe, expect, it } from 'vitest'
import { createRoomMembers } from '../src/live/room-members.ts'

const rooms = (set: ReadonlySet<string>) => [...set].sort()

describe('room members known to a node’s user hub', () => {
  it('finds a user in the known rooms they belong to, and forgets a room with its members', () => {
    const index = createRoomMembers()
    index.set('r1', ['ann', 'bob'])
    index.set('r2', ['cat', 'bob'])
    expect(rooms(index.roomsOf('bob'))).toEqual(['r1', 'r2'])
    expect(rooms(index.roomsOf('cat'))).toEqual(['r2'])
    expect(rooms(index.roomsOf('ann'))).toEqual(['r1'])
    expect(rooms(index.roomsOf('dan'))).toEqual([]) // in no known room
    expect([index.count('r1'), index.count('r2'), index.count('r3')]).toEqual([2, 2, 0])

    index.drop('r1')
    expect(rooms(index.roomsOf('ann'))).toEqual([])
    expect(rooms(index.roomsOf('bob'))).toEqual(['r2'])
    index.drop('r2')
    expect(index.count('r2')).toBe(0)
    expect([...rooms(index.roomsOf('bob')), ...rooms(index.roomsOf('cat'))]).toEqual([])
  })

  it('follows joins and leaves', () => {
    const index = createRoomMembers()
    index.set('r1', [])
    index.joined('r1', 'dan') // heard while the ids load
    index.set('r1', ['ann'])
    expect(rooms(index.roomsOf('dan'))).toEqual(['r1'])
    index.left('r1', 'ann')
    expect(rooms(index.roomsOf('ann'))).toEqual([])
    index.joined('r9', 'ann') // a room not known: ignored
    expect(rooms(index.roomsOf('ann'))).toEqual([])
    index.drop('r1')
    expect(rooms(index.roomsOf('dan'))).toEqual([])
  })
})
