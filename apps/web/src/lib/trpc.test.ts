import { afterEach, describe, expect, it, vi } from 'vitest'
import { OFFLINE_RETRY_MS, reconnectDelay } from './trpc.ts'

afterEach(() => vi.restoreAllMocks())

describe('reconnectDelay', () => {
  it('online, backs off from 0.5 s to 15 s with jitter, so a restarted server is not stampeded', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    expect([0, 1, 2, 5, 10].map(reconnectDelay)).toEqual([500, 1000, 2000, 15_000, 15_000])
    vi.mocked(Math.random).mockReturnValue(0)
    expect(reconnectDelay(0)).toBe(400)
  })

  it('offline, tries every second however long it has been, so the socket is back soon after the network', () => {
    vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false)
    expect([0, 5, 30].map(reconnectDelay)).toEqual([
      OFFLINE_RETRY_MS,
      OFFLINE_RETRY_MS,
      OFFLINE_RETRY_MS,
    ])
  })
})
