import { RateLimitedError } from './trpc.ts'

/**
 * Load shedding for `messages.send`: at most `max` sends in progress on this
 * node. Past that a send is refused at once — TOO_MANY_REQUESTS, "the server
 * is busy", with a `retryAfterMs` — instead of joining the queue. A node
 * taking more sends than it can write does not lose them, it answers all of
 * them late, and later the longer the overload lasts (what waits grows without
 * bound, memory too). Refused, the message stays in the PWA's outbox, which
 * sends it again after `retryAfterMs`: nothing is lost, and what the node
 * accepts it still answers quickly.
 *
 * Per node, like the work it bounds; the retry delay is spread over
 * 0.5–1.5 × `retryAfterMs` so refused clients do not all come back at once.
 */
export function createSendGate(max: number, retryAfterMs = 1000, onRefused?: () => void) {
  let inFlight = 0
  return {
    /** Takes a place, or throws TOO_MANY_REQUESTS when the node is full; call the returned function once, when the send settles. */
    enter(): () => void {
      if (inFlight >= max) {
        onRefused?.()
        throw new RateLimitedError(Math.round(retryAfterMs * (0.5 + Math.random())), 'The server is busy, try again shortly')
      }
      inFlight++
      return () => {
        inFlight--
      }
    },
    get inFlight(): number {
      return inFlight
    },
  }
}
export type SendGate = ReturnType<typeof createSendGate>
