import { afterEach, describe, expect, it } from 'vitest'
import { computed } from 'vue'
import { answeredByServer, queryClient } from './query-client.ts'

const key = ['rooms', 'list']
/** A fetch from "the server", whatever the cache holds (its data set by hand counts as fresh). */
const fetchList = (queryFn: () => Promise<string[]>) =>
  queryClient.fetchQuery({ queryKey: key, queryFn, staleTime: 0, retry: false })
afterEach(() => queryClient.clear())

describe('answeredByServer', () => {
  it('tells data the server sent from data put in the cache by hand', async () => {
    const answered = computed(() => answeredByServer(key))
    expect(answered.value).toBe(false)
    // The device's copy, then a patch on it: both stamped as new, neither from the server.
    queryClient.setQueryData(key, ['saved on the device'])
    queryClient.setQueryData(key, ['saved on the device', 'patched'])
    expect(queryClient.getQueryState(key)!.dataUpdatedAt).toBeGreaterThan(0)
    expect(answered.value).toBe(false)

    await fetchList(async () => ['from the server'])
    expect(answered.value).toBe(true)
    // Patches after it do not undo it.
    queryClient.setQueryData(key, ['from the server', 'patched'])
    expect(answered.value).toBe(true)
  })

  it('starts again for a query removed from the cache (signed out), and a failed fetch is no answer', async () => {
    await fetchList(async () => ['first user'])
    expect(answeredByServer(key)).toBe(true)
    queryClient.clear()
    queryClient.setQueryData(key, ['next user, from the device'])
    expect(answeredByServer(key)).toBe(false)
    await expect(fetchList(() => Promise.reject(new Error('offline')))).rejects.toThrow('offline')
    expect(answeredByServer(key)).toBe(false)
  })
})
