import { onlineManager, QueryClient, type Query, type QueryKey } from '@tanstack/vue-query'
import { ref } from 'vue'
import { errorCode, isNetworkError } from './errors.ts'

/*
 * TanStack Query starts out online whatever the browser says, and hears only
 * the changes (its `online`/`offline` listeners): an app started with no
 * network fetched, failed its retries and said "Could not load…", and stayed
 * so after the network came back. Started from what the browser says, a query
 * waits for the network (paused), as it does when the network goes later.
 */
if (typeof navigator !== 'undefined') onlineManager.setOnline(navigator.onLine)

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

/**
 * When the server last answered each query (Date.now()). Data put in the
 * cache by hand does not count (the copy of the room list saved on the device,
 * a patch from an event): TanStack stamps it as new all the same, so its
 * `dataUpdatedAt` cannot tell the device's copy from the server's answer.
 */
const answered = new WeakMap<Query, number>()
const answers = ref(0)
queryClient.getQueryCache().subscribe((event) => {
  if (event.type !== 'updated' || event.action.type !== 'success' || event.action.manual) return
  answered.set(event.query, Date.now())
  answers.value++
})

/** When the server last answered the query under `queryKey` in this page's life, if it has (reactive). */
export function answeredAt(queryKey: QueryKey): number | undefined {
  void answers.value
  const query = queryClient.getQueryCache().find({ queryKey, exact: true })
  return query && answered.get(query)
}
