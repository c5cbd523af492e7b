import { describe, expect, it } from 'vitest'
import { countMarkRead, countMessage, unreadFrom } from '../src/live/user-hub.ts'

// A room at seq 10, the user read up to 10; others write 11, 12, 13; the user marks read.
describe('a user’s unread count, from messages and markRead counts arriving in either order', () => {
  it('markRead after the messages it covered: its count, plus nothing', () => {
    const s = unreadFrom(0)
    for (const seq of [11, 12]) countMessage(s, seq)
    expect(s.count).toBe(2)
    expect(countMarkRead(s, 12, 0)).toBe(true) // read through 12, as of 12
    expect(s.count).toBe(0)
    countMessage(s, 13)
    expect(s.count).toBe(1)
  })

  it('markRead taken at 12 but heard after 13: 13 is still unread', () => {
    const s = unreadFrom(0)
    for (const seq of [11, 12, 13]) countMessage(s, seq)
    countMarkRead(s, 12, 0)
    expect(s.count).toBe(1)
  })

  it('markRead heard before a message it covered: that message is not counted again', () => {
    const s = unreadFrom(0)
    countMessage(s, 11)
    countMarkRead(s, 12, 1) // read through 11; 12 (by someone else) was in the log already
    expect(s.count).toBe(1)
    countMessage(s, 12) // arrives late on the room channel
    expect(s.count).toBe(1)
    countMessage(s, 13)
    expect(s.count).toBe(2)
  })

  it('an older markRead heard after a newer one is ignored; two as of the same seq keep the smaller', () => {
    const s = unreadFrom(5)
    expect(countMarkRead(s, 20, 0)).toBe(true)
    expect(countMarkRead(s, 15, 3)).toBe(false)
    expect(s.count).toBe(0)
    expect(countMarkRead(s, 20, 2)).toBe(true) // an earlier marker's count, as of the same seq
    expect(s.count).toBe(0)
  })
})
