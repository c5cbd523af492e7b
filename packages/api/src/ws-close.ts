import type { WebSocket } from 'ws'

/** How long a closed socket's peer has to answer the close before the socket is cut. */
export const CLOSE_GRACE_MS = 1000

/**
 * Closes `socket` with `code`, and cuts it if the peer has not answered the
 * close handshake within CLOSE_GRACE_MS: a client that ignores close frames
 * would otherwise hold the socket (and what it may still send) for ~30 s.
 */
export function closeThenCut(socket: WebSocket, code: number, reason: string): void {
  socket.close(code, reason)
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref()
}
