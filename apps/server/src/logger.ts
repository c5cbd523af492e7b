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

export function createLogger(env: Pick<Env, 'LOG_LEVEL' | 'NODE_ID' | 'NODE_ENV'>, destination?: DestinationStream): Logger {
  const options = {
    level: env.LOG_LEVEL,
    base: { node: env.NODE_ID },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    ...(env.NODE_ENV === 'development' && !destination ? { transport: { target: 'pino-pretty' } } : {}),
  }
  return destination ? pino(options, destination) : pino(options)
}
