/**
 * The kernel caps a listener's accept queue at `net.core.somaxconn` without
 * a word: a LISTEN_BACKLOG above it is silently the smaller number (128 on
 * Linux before 5.4). A reconnect storm larger than the queue loses
 * connection attempts that the clients' TCP stacks retry only 1, 3, 7… s
 * later, so the node says so at start-up.
 */
import { readFileSync } from 'node:fs'

/** net.core.somaxconn (Linux); null elsewhere. */
export function somaxconn(): number | null {
  try {
    const n = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'))
    return Number.isSafeInteger(n) && n > 0 ? n : null
  } catch {
    return null
  }
}
