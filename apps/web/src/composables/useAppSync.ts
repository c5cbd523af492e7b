import { useQueryClient } from '@tanstack/vue-query'
import { watch } from 'vue'
import { useRouter } from 'vue-router'
import { isNetworkError } from '../lib/errors.ts'
import { resendReadMarkers } from '../lib/read-markers.ts'
import { openUserDb } from '../offline/db.ts'
import { useConnectionStore } from '../stores/connection.ts'
import { useOutboxStore } from '../stores/outbox.ts'
import { useSessionStore } from '../stores/session.ts'

/**
 * App-wide wiring between the stores (they never read each other): load the
 * user's outbox when they sign in, flush it and the read markers the server
 * did not take whenever the connection comes back (or finish a sign-out made
 * offline), ask again what could not reach
 * the server once the socket opens, and leave signed-in screens when the
 * session ends.
 */
export function useAppSync(): void {
  const session = useSessionStore()
  const connection = useConnectionStore()
  const outbox = useOutboxStore()
  const router = useRouter()
  const qc = useQueryClient()

  watch(
    () => session.user?.id,
    async (id) => {
      if (!id) return
      await openUserDb(id)
      await outbox.load()
      if (navigator.onLine) outbox.kick()
    },
    { immediate: true },
  )

  watch(
    () => [connection.status, connection.browserOnline] as const,
    ([status, online]) => {
      if (status !== 'online' && !online) return
      if (session.signedIn) {
        outbox.kick()
        // Rooms read offline, and left: no room page is open to send their markers.
        void resendReadMarkers(qc)
      }
      // A sign-out made offline ends the server session as soon as it can.
      else void session.finishLogout().catch(() => {})
    },
  )

  // A query that failed for want of the server (the network up, the server
  // not reachable: a tunnel's last bar, a restart) stays failed once its
  // retries are spent: a room the device had not saved still said "Could not
  // load the messages" long after the connection came back. (With no network
  // at all, queries wait for it instead: lib/query-client.ts.)
  watch(
    () => connection.opens,
    () =>
      void qc.refetchQueries(
        {
          type: 'active',
          predicate: (q) => q.state.status === 'error' && isNetworkError(q.state.error),
        },
        // One already being tried again is joined, not cancelled and sent anew.
        { cancelRefetch: false },
      ),
  )

  watch(
    () => session.status,
    (status, before) => {
      // Only a session that ends (sign-out, revoked); the first decision is the router guard's.
      if (
        before === 'signedIn' &&
        status === 'signedOut' &&
        !router.currentRoute.value.meta.guest
      ) {
        void router.replace({ name: 'signin' })
      }
    },
  )
}
