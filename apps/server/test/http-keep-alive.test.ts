/**
 * The PWA's queries and sends go over HTTP. A chat user pauses between two
 * sends far longer than Node's default 5 s keep-alive, and a send on a
 * connection the server has closed pays a new handshake first (a round trip
 * on a phone's link, two or three with TLS): the connection must still be
 * there after a pause, and still be closed in the end.
 */
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './factory.ts'

/** One client connection, read and written by hand so what is seen is the server's doing, not a client library's pool. */
class Connection {
  private readonly socket: net.Socket
  private received = ''
  private wake = () => {}
  /** Set when the server ended the connection (its FIN arrived). */
  endedAt: number | undefined

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1')
    this.socket.setEncoding('latin1')
    this.socket.on('data', (chunk: string) => {
      this.received += chunk
      this.wake()
    })
    this.socket.on('end', () => {
      this.endedAt = Date.now()
      this.wake()
    })
    this.socket.on('error', () => {})
  }

  /** GET /healthz; resolves with the response's head, or rejects if the server ends the connection first. */
  async get(): Promise<{ status: number; keepAlive: string | undefined }> {
    this.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    for (;;) {
      const headEnd = this.received.indexOf('\r\n\r\n')
      if (headEnd >= 0) {
        const head = this.received.slice(0, headEnd)
        const length = Number(/^content-length: *(\d+)/im.exec(head)?.[1] ?? 0)
        if (this.received.length >= headEnd + 4 + length) {
          this.received = this.received.slice(headEnd + 4 + length)
          return { status: Number(head.split(' ')[1]), keepAlive: /^keep-alive: *(.*)$/im.exec(head)?.[1] }
        }
      }
      if (this.endedAt !== undefined) throw new Error('the server closed the connection')
      await new Promise<void>((r) => (this.wake = r))
    }
  }

  /** Resolves when the server ends the connection. */
  ended(): Promise<number> {
    return new Promise((resolve) => {
      const check = () => (this.endedAt !== undefined ? resolve(this.endedAt) : (this.wake = check))
      check()
    })
  }

  close() {
    this.socket.destroy()
  }
}

describe('keep-alive on the defaults', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer()
  })
  afterAll(() => server.stop())

  it('a request after a pause longer than Node’s 5 s goes out on the same connection', async () => {
    const connection = new Connection(server.port)
    try {
      expect(await connection.get()).toEqual({ status: 200, keepAlive: 'timeout=65' })
      await sleep(6_500)
      expect(connection.endedAt).toBeUndefined()
      expect(await connection.get()).toMatchObject({ status: 200 })
    } finally {
      connection.close()
    }
  }, 15_000)
})

describe('HTTP_KEEP_ALIVE_TIMEOUT_MS', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startTestServer({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000' })
  })
  afterAll(() => server.stop())

  it('the server ends a connection once it has been idle that long', async () => {
    const connection = new Connection(server.port)
    try {
      expect(await connection.get()).toEqual({ status: 200, keepAlive: 'timeout=1' })
      const idleFrom = Date.now()
      const endedAt = await connection.ended()
      // Node holds the connection a second past the advertised timeout, for clients that act on the hint.
      expect(endedAt - idleFrom).toBeGreaterThanOrEqual(900)
      await expect(connection.get()).rejects.toThrow('closed')
    } finally {
      connection.close()
    }
  }, 10_000)
})
