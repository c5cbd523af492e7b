/** Process entry: read the environment, start one node, stop gracefully on SIGTERM/SIGINT. */
import { EnvError, readEnv, type Env } from './env.ts'
import { createLogger } from './logger.ts'
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

const log = createLogger(env)

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
    const started = Date.now()
    log.info({ signal }, 'shutting down')
    // app.close() is bounded by SHUTDOWN_TIMEOUT_MS; closing MongoDB/Redis gets a few more seconds.
    const force = setTimeout(() => {
      log.error('shutdown timed out')
      process.exit(1)
    }, env.SHUTDOWN_TIMEOUT_MS + 5000)
    force.unref()
    running.stop().then(
      () => {
        log.info({ ms: Date.now() - started }, 'stopped')
        process.exit(0)
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  })
}
