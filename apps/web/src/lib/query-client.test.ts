import { afterEach, describe, expect, it, vi } from 'vitest'
import { computed } from 'vue'
import { answeredAt, queryClient } from './query-client.ts'

const key = ['rooms', 'list']
/** A fetch from "the server", whatever the cache holds (its data set by hand counts as fresh). */
const fetchList = (queryFn: () => Promise<string[]>) =>
  queryClient.fetchQuery({ queryKey: key, queryFn, staleTime: 0, retry: false })

afterEach(() => {
  queryClient.clear()
  vi.useRealTimers()
})

describe('answeredAt', () => {
  it('tells data the server sent from data put in the cache by hand, and says when it came', async () => {
    vi.useFakeTimers({ now: 1_000, toFake: ['Date'] })
    const answered = computed(() => answeredAt(key))
    expect(answered.value).toBeUndefined()
    // The device's copy, then a patch on it: both stamped as new, neither from the server.
    queryClient.setQueryData(key, ['saved on the device'])
    queryClient.setQueryData(key, ['saved on the device', 'patched'])
    expect(queryClient.getQueryState(key)!.dataUpdatedAt).toBeGreaterThan(0)
    expect(answered.value).toBeUndefined()

    await fetchList(async () => ['from the server'])
    expect(answered.value).toBe(1_000)
    // Patches after it do not move it; the next answer does.
    vi.setSystemTime(2_000)
    queryClient.setQueryData(key, ['from the server', 'patched'])
    expect(answered.value).toBe(1_000)
    await fetchList(async () => ['from the server, again'])
    expect(answered.value).toBe(2_000)
  })

  it('starts again for a query removed from the cache (signed out), and a failed fetch is no answer', async () => {
    await fetchList(async () => ['first user'])
    expect(answeredAt(key)).toBeTypeOf('number')
    queryClient.clear()
    queryClient.setQueryData(key, ['next user, from the device'])
    expect(answeredAt(key)).toBeUndefined()
    await expect(fetchList(() => Promise.reject(new Error('offline')))).rejects.toThrow('offline')
    expect(answeredAt(key)).toBeUndefined()
  })
})
