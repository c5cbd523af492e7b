/**
 * Free loopback ports for the servers the tests, the browser tests and the
 * benchmark start. Its own entry (`@parley/testing/ports`) so the browser
 * harness does not load the MongoDB and tRPC harnesses with it.
 */
import { once } from 'node:events'
import net from 'node:net'

/** Distinct loopback ports free now (held open together, so none repeats). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer()
          server.unref()
          server.once('error', reject)
          server.listen(0, '127.0.0.1', () => resolve(server))
        }),
    ),
  )
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port)
  await Promise.all(servers.map((s) => (s.close(), once(s, 'close'))))
  return ports
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!
}

/**
 * `start` on `count` ports found free, and again on others (up to `attempts`
 * times in all) when it fails because one was taken: a port free when we look
 * can be taken before the server binds it, by an outgoing connection's
 * ephemeral port. `start` cleans up after itself when it throws; `taken` says
 * whether its error was a port taken (any error, unless given).
 */
export async function onFreePorts<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  {
    taken = () => true,
    attempts = 3,
  }: { taken?: (err: unknown) => boolean; attempts?: number } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePorts(count))
    } catch (err) {
      if (attempt >= attempts || !taken(err)) throw err
    }
  }
}

/** An EADDRINUSE in an error or the output it carries. */
export const portTaken = (err: unknown): boolean =>
  /EADDRINUSE|address already in use/i.test(String(err))
