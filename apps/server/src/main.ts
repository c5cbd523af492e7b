/** Process entry: read the environment, start one node, stop gracefully on SIGTERM/SIGINT. */
import { pino } from 'pino'
import { EnvError, readEnv, type Env } from './env.ts'
import { startServer } from './server.ts'

let env: Env
try {
  env = readEnv()
} catch (err) {
  if (err instanceof EnvError) {
    process.stderr.write(`parley: ${err.message}\n`)
    process.exit(1)
  }
  throw err
}

const log = pino({
  level: env.LOG_LEVEL,
  base: { node: env.NODE_ID },
  redact: { paths: ['req.headers.cookie', 'headers.cookie', 'token', 'password', '*.password', '*.token'], censor: '[redacted]' },
  ...(env.NODE_ENV === 'development' ? { transport: { target: 'pino-pretty' } } : {}),
})

const running = await startServer(env, log).catch((err: unknown) => {
  log.fatal({ err }, 'start-up failed')
  process.exit(1)
})
log.info({ url: `http://localhost:${running.port}`, port: running.port }, 'Parley is listening')

let stopping = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down')
    const force = setTimeout(() => {
      log.error('shutdown timed out')
      process.exit(1)
    }, env.SHUTDOWN_TIMEOUT_MS + 5000)
    force.unref()
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  })
}
