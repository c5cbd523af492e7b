// Standalone server: `pnpm --filter @parley/embedded-mongo start -- --port 27999 --data DIR`
// (or PORT / DATA_DIR / HOST env). Prints one line with the URL; several app
// processes can share it. Stops cleanly (journal flushed/compacted) on SIGTERM/SIGINT.

import { parseArgs } from 'node:util'
import { startEmbeddedMongo } from './index.ts'

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    port: { type: 'string', short: 'p' },
    data: { type: 'string', short: 'd' },
    host: { type: 'string' },
    fsync: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
})

if (values.help) {
  console.log('usage: embedded-mongo [--port 27017] [--data DIR] [--host 127.0.0.1] [--fsync]   (env: PORT, DATA_DIR, HOST)')
  process.exit(0)
}

const port = Number(values.port ?? process.env.PORT ?? 27017)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`embedded-mongo: invalid port ${String(values.port ?? process.env.PORT)}`)
  process.exit(2)
}
const dataDir = values.data ?? process.env.DATA_DIR ?? undefined

try {
  const server = await startEmbeddedMongo({ port, host: values.host ?? process.env.HOST, dataDir: dataDir || undefined, fsync: values.fsync })
  console.log(`embedded-mongo listening on ${server.url}${dataDir ? ` (data: ${dataDir})` : ' (in-memory)'}`)
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`embedded-mongo: error while stopping on ${signal}:`, err)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
} catch (err) {
  console.error((err as Error).message)
  process.exit(1)
}
