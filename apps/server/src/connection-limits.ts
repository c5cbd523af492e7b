/**
 * What the kernel lets one node hold, read once at start-up (Linux; elsewhere
 * neither limit is known and nothing is capped or warned of).
 *
 * Open files: every socket is a file descriptor. Node raises its soft limit
 * to the hard one at start-up, so the hard limit of the service (systemd's
 * LimitNOFILE, Docker's `ulimits`, `ulimit -Hn`) is what counts. At that
 * limit the kernel refuses `accept` and libuv closes the waiting connections
 * without a word, and the node cannot open a MongoDB or Redis connection
 * either. So the node stops accepting client connections a little before it
 * (Node's `server.maxConnections`), keeping descriptors for its own
 * connections, and counts and logs what it turns away (app.ts).
 *
 * Accept queue: the kernel cuts a listener's backlog to
 * `net.core.somaxconn` without a word (128 on Linux before 5.4). A reconnect
 * storm larger than the queue loses connection attempts that the clients'
 * TCP stacks retry only 1, 3, 7… s later, so the node says so.
 */
import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'

/** Descriptors kept for MongoDB's pool (and the embedded server's side of it), Redis, static files and logs. */
export const RESERVED_FILES = 512

/** A /proc file's text; null where there is none. */
function readProc(file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return null
  }
}

const positive = (n: number) => (Number.isSafeInteger(n) && n > 0 ? n : null)

/** The soft "Max open files" of this process from /proc/self/limits text; null when it cannot be read or is unlimited. */
export function parseOpenFileLimit(limits: string): number | null {
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1]
  return !soft || soft === 'unlimited' ? null : positive(Number(soft))
}

/** This process's open-file limit; null where unknown. */
export function openFileLimit(): number | null {
  const limits = readProc('/proc/self/limits')
  return limits === null ? null : parseOpenFileLimit(limits)
}

/** net.core.somaxconn, the longest accept queue the kernel allows; null where unknown. */
export function somaxconn(): number | null {
  const text = readProc('/proc/sys/net/core/somaxconn')
  return text === null ? null : positive(Number(text))
}

/** The default MAX_CONNECTIONS: the open-file limit less RESERVED_FILES (at least half the limit); 0 (no cap) when the limit is unknown. */
export function defaultMaxConnections(limit: number | null): number {
  if (limit === null) return 0
  return Math.max(Math.floor(limit / 2), limit - RESERVED_FILES)
}

/**
 * The node's connection cap (MAX_CONNECTIONS, or the default above), logged
 * with the limit it came from; and a warning when the kernel cuts
 * LISTEN_BACKLOG.
 */
export function connectionLimits(env: { MAX_CONNECTIONS?: number | undefined; LISTEN_BACKLOG: number }, log: Logger): { maxConnections: number } {
  const fileLimit = openFileLimit()
  const maxConnections = env.MAX_CONNECTIONS ?? defaultMaxConnections(fileLimit)
  log.info({ maxConnections, openFileLimit: fileLimit }, 'connections: at most MAX_CONNECTIONS at once (0: no cap)')
  const queueCap = somaxconn()
  if (queueCap !== null && queueCap < env.LISTEN_BACKLOG) {
    log.warn({ listenBacklog: env.LISTEN_BACKLOG, somaxconn: queueCap }, 'accept queue capped by net.core.somaxconn: raise it to LISTEN_BACKLOG, or a reconnect storm loses connection attempts for seconds (docs/operations.md)')
  }
  return { maxConnections }
}
