import { QueryClient } from '@tanstack/vue-query'
import { errorCode, isNetworkError } from './errors.ts'

/** The app's one QueryClient (stores reach the cache through it too). */
export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 30_000,
      refetchOnWindowFocus: false,
      // Don't hammer a server that answered: only network failures are retried.
      retry: (count, err) => isNetworkError(err) && count < 2,
    },
    mutations: {
      // Run (and fail fast) offline. The default 'online' mode pauses a mutation
      // until the network returns and then fires it, unseen: a room created long
      // after its dialog was closed. What must survive offline goes through the outbox.
      networkMode: 'always',
      retry: (count, err) => errorCode(err) === 'TOO_MANY_REQUESTS' && count < 1,
    },
  },
})
