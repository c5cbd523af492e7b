import { beforeEach, describe, expect, it, vi } from 'vitest'

const KEY = 'parley:reading-places'
/** The module as a reloaded page gets it: reading what the last page left. */
const freshModule = async () => {
  vi.resetModules()
  return import('./reading-places.ts')
}

beforeEach(() => sessionStorage.clear())

describe('reading places', () => {
  it('outlive the page: written as it is hidden or goes, read by the next', async () => {
    const first = await freshModule()
    first.readingPlaces.set('room-a', { seq: 20, offset: -26.5 })
    first.readingPlaces.set('room-b', { seq: 3, offset: 0 })
    window.dispatchEvent(new Event('pagehide'))
    const next = await freshModule()
    expect([...next.readingPlaces]).toEqual([
      ['room-a', { seq: 20, offset: -26.5 }],
      ['room-b', { seq: 3, offset: 0 }],
    ])
  })

  it('keep only well-formed entries of what was stored, and nothing of garbage', async () => {
    sessionStorage.setItem(
      KEY,
      JSON.stringify([['ok', { seq: 1, offset: 2 }], ['no-seq', { offset: 2 }], 'junk', [1, {}]]),
    )
    expect([...(await freshModule()).readingPlaces]).toEqual([['ok', { seq: 1, offset: 2 }]])
    sessionStorage.setItem(KEY, '{not json')
    expect((await freshModule()).readingPlaces.size).toBe(0)
  })

  it('are forgotten at sign-out, here and in storage', async () => {
    const places = await freshModule()
    places.readingPlaces.set('room-a', { seq: 20, offset: 0 })
    window.dispatchEvent(new Event('pagehide'))
    places.forgetReadingPlaces()
    expect(places.readingPlaces.size).toBe(0)
    expect(sessionStorage.getItem(KEY)).toBeNull()
  })
})
