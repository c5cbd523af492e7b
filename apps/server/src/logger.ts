/**
 * The process logger: pino JSON lines with the node id in every line; pretty
 * output only under `pnpm dev` (NODE_ENV=development). What we log is chosen
 * field by field (no request bodies, no headers); the redact list is a second
 * line of defence should a secret ever be passed in by mistake.
 */
import { pino, type DestinationStream, type Logger } from 'pino'
import type { Env } from './env.ts'

export const REDACT_PATHS = [
  'password',
  'token',
  'cookie',
  'body',
  'authorization',
  '*.password',
  '*.token',
  '*.cookie',
  '*.body',
  '*.authorization',
  'headers.cookie',
  'headers.authorization',
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'input',
  '*.input',
  'connectionParams',
  '*.connectionParams',
]

/**
 * Errors are logged as their kind, message, code and stack (and the same for
 * their cause), never as every property they carry: a driver error can hold
 * the document it failed to write (`op`, `errorResponse.op`) — a message's
 * text, a user's record — at any depth the redact paths cannot foresee.
 */
export function safeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return typeof err === 'string' ? err : { type: typeof err }
  const { code, codeName } = err as { code?: unknown; codeName?: unknown }
  return {
    type: err.constructor.name,
    message: err.message,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    ...(typeof codeName === 'string' ? { codeName } : {}),
    stack: err.stack,
    ...(err.cause !== undefined && depth < 3 ? { cause: safeError(err.cause, depth + 1) } : {}),
  }
}

export function createLogger(env: Pick<Env, 'LOG_LEVEL' | 'NODE_ID' | 'NODE_ENV'>, destination?: DestinationStream): Logger {
  const options = {
    level: env.LOG_LEVEL,
    base: { node: env.NODE_ID },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: safeError },
    ...(env.NODE_ENV === 'development' && !destination ? { transport: { target: 'pino-pretty' } } : {}),
  }
  return destination ? pino(options, destination) : pino(options)
}
