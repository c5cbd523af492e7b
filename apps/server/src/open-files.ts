/**
 * How many client connections a node can hold is bounded by its open-file
 * limit: every socket is a file descriptor. Node raises its soft limit to the
 * hard one at start-up, so the hard limit of the service (systemd's
 * LimitNOFILE, Docker's `ulimits`, `ulimit -Hn`) is what counts.
 *
 * At that limit the kernel refuses `accept` and libuv closes the waiting
 * connections without a word, and the node cannot open a MongoDB or Redis
 * connection either. So the node stops accepting client connections a little
 * before it (Node's `server.maxConnections`), keeping descriptors for its own
 * connections, and counts and logs what it turns away.
 */
import { readFileSync } from 'node:fs'

/** Descriptors kept for MongoDB's pool (and the embedded server's side of it), Redis, static files and logs. */
export const RESERVED_FILES = 512

/** The soft "Max open files" of this process from /proc/self/limits text; null when it cannot be read or is unlimited. */
export function parseOpenFileLimit(limits: string): number | null {
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1]
  if (!soft || soft === 'unlimited') return null
  const n = Number(soft)
  return Number.isSafeInteger(n) && n > 0 ? n : null
}

/** This process's open-file limit (Linux); null elsewhere. */
export function openFileLimit(): number | null {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8'))
  } catch {
    return null
  }
}

/** The default MAX_CONNECTIONS: the open-file limit less RESERVED_FILES (at least half the limit); 0 (no cap) when the limit is unknown. */
export function defaultMaxConnections(limit: number | null): number {
  if (limit === null) return 0
  return Math.max(Math.floor(limit / 2), limit - RESERVED_FILES)
}
