import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MAX_TOASTS, toast, toasts } from './toast.ts'

beforeEach(() => {
  vi.useFakeTimers()
  toasts.value = []
})
afterEach(() => {
  vi.useRealTimers()
})

describe('toast', () => {
  it('keeps only the newest few stacked', () => {
    for (let i = 1; i <= MAX_TOASTS + 2; i++) toast(`error ${i}`, 'error')
    expect(toasts.value.map((t) => t.text)).toEqual(['error 3', 'error 4', 'error 5'])
  })

  it('each goes away by itself, a dropped one without disturbing the rest', () => {
    toast('first', 'info', 1000)
    for (let i = 0; i < MAX_TOASTS; i++) toast(`later ${i}`, 'info', 5000)
    vi.advanceTimersByTime(1000) // "first" was dropped already; its timer finds nothing
    expect(toasts.value).toHaveLength(MAX_TOASTS)
    vi.advanceTimersByTime(4000)
    expect(toasts.value).toEqual([])
  })

  it('the same notice again while it shows is one notice, shown for its full time from the last', () => {
    toast('That page opens once you are back online.', 'error', 4000)
    vi.advanceTimersByTime(3000)
    toast('That page opens once you are back online.', 'error', 4000)
    toast('Sent', 'info')
    expect(toasts.value.map((t) => t.text)).toEqual([
      'That page opens once you are back online.',
      'Sent',
    ])
    vi.advanceTimersByTime(3000) // past the first one's time, not the second's
    expect(toasts.value.map((t) => t.text)).toEqual([
      'That page opens once you are back online.',
      'Sent',
    ])
    vi.advanceTimersByTime(1000)
    expect(toasts.value).toEqual([])
  })
})
