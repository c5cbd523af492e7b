import { describe, expect, it } from 'vitest'
import { keptOnScreen, SLACK, WINDOW } from './list-window.ts'

/** Index of the oldest message on screen. */
const firstShown = (total: number, size = WINDOW) => total - keptOnScreen(total, size)

describe('the message list’s window', () => {
  it('keeps every message of a short conversation', () => {
    expect(keptOnScreen(0, WINDOW)).toBe(0)
    expect(keptOnScreen(WINDOW, WINDOW)).toBe(WINDOW)
  })

  it('lets new messages in a batch at a time before the oldest leave, never keeping fewer than the window', () => {
    const firsts = new Set<number>()
    for (let total = WINDOW; total < WINDOW + 3 * SLACK; total++) {
      expect(keptOnScreen(total, WINDOW)).toBeGreaterThanOrEqual(WINDOW)
      expect(keptOnScreen(total, WINDOW)).toBeLessThan(WINDOW + SLACK)
      firsts.add(firstShown(total))
    }
    // 150 new messages moved the top of the list three times, not 150.
    expect([...firsts]).toEqual([0, SLACK, 2 * SLACK])
  })

  it('a window grown by scrolling up keeps its size the same way', () => {
    const size = WINDOW + 100
    expect(keptOnScreen(size - 1, size)).toBe(size - 1)
    expect(keptOnScreen(size + SLACK - 1, size)).toBe(size + SLACK - 1)
    expect(keptOnScreen(size + SLACK, size)).toBe(size)
  })
})
