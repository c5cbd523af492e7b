/** Small test utilities: recording logger, waits, a freezable TCP proxy. */
import net from 'node:net'
import type { BusLogger } from '../src/index.ts'

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface LogLine {
  level: 'warn' | 'info'
  obj: object
  msg: string
}

export function recordingLogger(): BusLogger & { lines: LogLine[]; count(level: LogLine['level'], match: string): number } {
  const lines: LogLine[] = []
  return {
    lines,
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    count: (level, match) => lines.filter((l) => l.level === level && l.msg.includes(match)).length,
  }
}

export interface FreezableProxy {
  url: string
  /**
   * Stop forwarding, in both directions, on the open connections whose client
   * has sent `marker` — without closing them: a half-open connection as far
   * as both ends can tell.
   */
  freeze(marker: string): number
  close(): Promise<void>
}

/** A TCP proxy to 127.0.0.1:`targetPort`. */
export async function freezableProxy(targetPort: number): Promise<FreezableProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; sent: string; frozen: boolean }>()
  const server = net.createServer((client) => {
    const upstream = net.connect({ port: targetPort, host: '127.0.0.1' })
    const pair = { client, upstream, sent: '', frozen: false }
    pairs.add(pair)
    client.on('data', (chunk) => {
      if (pair.sent.length < 10_000) pair.sent += chunk.toString('latin1')
      if (!pair.frozen) upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (!pair.frozen) client.write(chunk)
    })
    const end = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    for (const socket of [client, upstream]) {
      socket.on('close', end)
      socket.on('error', end)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as net.AddressInfo
  return {
    url: `redis://127.0.0.1:${address.port}`,
    freeze(marker) {
      let n = 0
      for (const pair of pairs) {
        if (pair.sent.includes(marker)) {
          pair.frozen = true
          n++
        }
      }
      return n
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy()
        pair.upstream.destroy()
      }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
