/**
 * A small typed bridge from tRPC v11 to TanStack Vue Query: tRPC-shaped query
 * keys, queries and mutations through the vanilla client, and subscriptions
 * that resubscribe when their input or the socket changes.
 */
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/vue-query'
import { TRPCClientError } from '@trpc/client'
import { computed, toValue, watchEffect, type MaybeRefOrGetter } from 'vue'
import type { AppRouter } from '@parley/api'
import type { Input, MutationPath, Output, QueryPath, SubscriptionPath } from './contract.ts'
import { generation, untypedTrpc } from './trpc.ts'

export type ApiError = TRPCClientError<AppRouter>

export type TrpcQueryKey = readonly [string[], { input?: unknown; type: 'query' }]

/** The key tRPC's own adapters would use: `[['rooms', 'list'], { input, type: 'query' }]`. */
export function trpcKey<P extends QueryPath>(path: P, input?: Input<P>): TrpcQueryKey {
  return input === undefined
    ? [path.split('.'), { type: 'query' }]
    : [path.split('.'), { input, type: 'query' }]
}

/** Every cached input of a path, for `setQueriesData`/`invalidateQueries`. */
export function trpcPathKey(path: QueryPath): readonly [string[]] {
  return [path.split('.')]
}

export function callQuery<P extends QueryPath>(
  path: P,
  input: Input<P>,
  opts: { signal?: AbortSignal } = {},
): Promise<Output<P>> {
  return untypedTrpc().query(path, input, opts) as Promise<Output<P>>
}

export function callMutation<P extends MutationPath>(path: P, input: Input<P>): Promise<Output<P>> {
  return untypedTrpc().mutation(path, input) as Promise<Output<P>>
}

/**
 * A mutation that must outlive the page: sent as the page is hidden or goes
 * away (a reload, a link followed, the tab closed). One `fetch` with
 * `keepalive`, started before this returns, in tRPC's HTTP form (POST
 * /trpc/<path>, the input as JSON; no transformer here). Through the socket a
 * send waits a task first (tRPC's wsLink), which a page being left never
 * runs; tRPC's HTTP links start the fetch a few microtasks later, and the
 * later a request leaves a page going away, the likelier it is lost (with
 * the service worker in its way: 16 of 16 sent at once arrived, 12 of 16
 * sent after two microtasks).
 */
export async function callMutationAsPageGoes<P extends MutationPath>(
  path: P,
  input: Input<P>,
): Promise<void> {
  const res = await fetch(`/trpc/${path}`, {
    method: 'POST',
    keepalive: true,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  })
  if (res.ok) return
  // tRPC's error body, so the caller tells a refusal from a failure as for any call.
  const body: unknown = await res.json().catch(() => null)
  throw body && typeof body === 'object' && 'error' in body
    ? TRPCClientError.from(body as Parameters<typeof TRPCClientError.from>[0])
    : new TypeError(`${path}: HTTP ${res.status}`)
}

export interface SubscriptionHandlers<T> {
  onData(value: T): void
  onStarted?(): void
  onError?(error: ApiError): void
  onComplete?(): void
}

/** Subscribe once; returns the unsubscribe function. */
export function subscribe<P extends SubscriptionPath>(
  path: P,
  input: Input<P>,
  handlers: SubscriptionHandlers<Output<P>>,
): () => void {
  const sub = untypedTrpc().subscription(path, input, {
    onData: (value: unknown) => handlers.onData(value as Output<P>),
    onStarted: () => handlers.onStarted?.(),
    onError: (err: unknown) => handlers.onError?.(err as ApiError),
    onComplete: () => handlers.onComplete?.(),
  })
  return () => sub.unsubscribe()
}

export function getTrpcData<P extends QueryPath>(
  qc: QueryClient,
  path: P,
  input?: Input<P>,
): Output<P> | undefined {
  return qc.getQueryData<Output<P>>(trpcKey(path, input))
}

export function setTrpcData<P extends QueryPath>(
  qc: QueryClient,
  path: P,
  input: Input<P>,
  updater: (old: Output<P> | undefined) => Output<P> | undefined,
  opts?: { updatedAt?: number },
): void {
  qc.setQueryData<Output<P>>(trpcKey(path, input), updater, opts)
}

export interface UseTrpcQueryOptions<T> {
  /** Default true. */
  enabled?: MaybeRefOrGetter<boolean>
  /** Default: the QueryClient's (30 s, see main.ts). */
  staleTime?: number
  refetchOnMount?: boolean | 'always'
  /** Ask again when the page comes back into view (the QueryClient's default is off). */
  refetchOnWindowFocus?: boolean | (() => boolean)
  /** Combine a fresh result with what is cached before it is stored. */
  merge?: (cached: T | undefined, fresh: T) => T
  /** Handed the answer as the request leaves, to see it in before `merge` (see `withChangesWhileAsked`). */
  whileAsked?: (answer: Promise<T>) => Promise<T>
}

export function useTrpcQuery<P extends QueryPath>(
  path: P,
  input: MaybeRefOrGetter<Input<P>>,
  options: UseTrpcQueryOptions<Output<P>> = {},
) {
  const qc = useQueryClient()
  return useQuery<Output<P>, ApiError, Output<P>, TrpcQueryKey>({
    queryKey: computed(() => trpcKey(path, toValue(input))),
    queryFn: async ({ signal, queryKey }) => {
      const answer = callQuery(path, queryKey[1].input as Input<P>, { signal })
      const fresh = await (options.whileAsked ? options.whileAsked(answer) : answer)
      return options.merge ? options.merge(qc.getQueryData<Output<P>>(queryKey), fresh) : fresh
    },
    enabled: () => toValue(options.enabled ?? true),
    // The cache's data is replaced, never changed in place (setQueryData with
    // new objects), so Vue need not wrap it in deep reactive and readonly
    // proxies: with 200 messages on screen, every update of the list read each
    // message's fields through two of them. Left raw, it also goes to
    // IndexedDB as it is (structured clone cannot copy a proxy).
    shallow: true,
    ...(options.staleTime !== undefined && { staleTime: options.staleTime }),
    ...(options.refetchOnMount !== undefined && { refetchOnMount: options.refetchOnMount }),
    ...(options.refetchOnWindowFocus !== undefined && {
      refetchOnWindowFocus: options.refetchOnWindowFocus,
    }),
  })
}

export interface UseTrpcMutationOptions<P extends MutationPath> {
  onSuccess?: (data: Output<P>, input: Input<P>) => unknown
  onError?: (error: ApiError, input: Input<P>) => unknown
  onSettled?: () => unknown
}

export function useTrpcMutation<P extends MutationPath>(
  path: P,
  options: UseTrpcMutationOptions<P> = {},
) {
  return useMutation<Output<P>, ApiError, Input<P>>({
    mutationFn: (input) => callMutation(path, input),
    onSuccess: (data, input) => options.onSuccess?.(data, input),
    onError: (error, input) => options.onError?.(error, input),
    onSettled: () => options.onSettled?.(),
  })
}

export interface UseTrpcSubscriptionOptions<
  P extends SubscriptionPath,
> extends SubscriptionHandlers<Output<P>> {
  /** Default true. */
  enabled?: MaybeRefOrGetter<boolean>
}

/**
 * Keeps a subscription open while `enabled`; resubscribes when `input` changes
 * or the socket is replaced (sign-in/out). Must run inside a component or scope.
 */
export function useTrpcSubscription<P extends SubscriptionPath>(
  path: P,
  input: MaybeRefOrGetter<Input<P>>,
  options: UseTrpcSubscriptionOptions<P>,
): void {
  watchEffect((onCleanup) => {
    void generation.value
    if (!toValue(options.enabled ?? true)) return
    const stop = subscribe(path, toValue(input), options)
    onCleanup(stop)
  })
}

export type Untracked<V> = V extends { id: string; data: infer D } ? D : V

/** Tracked events arrive as `{ id, data }`, untracked ones bare. */
export function untrack<V extends object>(value: V): Untracked<V> {
  if ('data' in value && 'id' in value && !('type' in value)) return value.data as Untracked<V>
  return value as Untracked<V>
}
