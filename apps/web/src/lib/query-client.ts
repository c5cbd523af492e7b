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
      retry: (count, err) => errorCode(err) === 'TOO_MANY_REQUESTS' && count < 1,
    },
  },
})
