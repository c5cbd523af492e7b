/**
 * The network between the browser and the server, which a test can take
 * through a tunnel: a TCP relay, so that Chromium's sockets fail as they do
 * on a real network. (Playwright's WebSocket routing replaces the page's
 * WebSocket with its own, which closes a socket that has not opened without
 * the `error` a browser fires.)
 */
import { connect, createServer, type Socket } from 'node:net'

export interface Link {
  /** `http://localhost:PORT`: a page loaded from here reaches the server through the link. */
  base: string
  /** While on, a WebSocket handshake through the link is never answered, as if its packets were lost; other requests pass. */
  holdHandshakes(on: boolean): void
  /** How many handshakes the link has held so far. */
  held(): number
  /** Resets the WebSockets open through the link, as a network that drops them. */
  cutSockets(): void
  /** While on, the server cannot be reached: every connection through the link is reset, the open ones and each new one. */
  setDown(on: boolean): void
  close(): Promise<void>
}

const UPGRADE = /^upgrade:\s*websocket/im

export async function startLink(serverPort: number, port: number): Promise<Link> {
  let holding = false
  let down = false
  let heldCount = 0
  const sockets = new Set<Socket>()
  const all = new Set<Socket>()
  const server = createServer((client) => {
    client.on('error', () => client.destroy())
    if (down) return client.resetAndDestroy()
    all.add(client)
    client.on('close', () => all.delete(client))
    // A request's headers arrive in its first packet on loopback.
    client.once('data', (first) => {
      const upgrade = UPGRADE.test(first.toString('latin1'))
      // Held: never answered, and closed with the rest (`all`).
      if (upgrade && holding) {
        heldCount++
        return
      }
      const upstream = connect(serverPort, '127.0.0.1')
      upstream.on('error', () => client.destroy())
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
      upstream.write(first)
      client.pipe(upstream)
      upstream.pipe(client)
      if (upgrade) {
        sockets.add(client)
        client.on('close', () => sockets.delete(client))
      }
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return {
    base: `http://localhost:${port}`,
    holdHandshakes: (on) => void (holding = on),
    held: () => heldCount,
    cutSockets: () => sockets.forEach((s) => s.resetAndDestroy()),
    setDown: (on) => {
      down = on
      if (on) all.forEach((s) => s.resetAndDestroy())
    },
    close: () => {
      all.forEach((s) => s.destroy())
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
