import { once } from 'node:events'
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { freePorts, onFreePorts, portTaken } from '../src/ports.ts'

const open: net.Server[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => (s.close(), once(s, 'close'))))
})

/** Listens on `port` as a server would; rejects with EADDRINUSE when it is taken. */
async function listen(port: number): Promise<net.Server> {
  const server = net.createServer()
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  open.push(server)
  return server
}

describe('free ports', () => {
  it('are distinct, and each can be listened on', async () => {
    const ports = await freePorts(3)
    expect(new Set(ports).size).toBe(3)
    for (const port of ports) await listen(port)
  })

  it('a start whose port was taken first starts again on another', async () => {
    const tried: number[] = []
    const server = await onFreePorts(
      1,
      async ([port]) => {
        tried.push(port!)
        // Someone else binds it between the look and the start.
        if (tried.length === 1) await listen(port!)
        return listen(port!)
      },
      { taken: portTaken },
    )
    expect(tried).toHaveLength(2)
    expect(tried[1]).not.toBe(tried[0])
    expect((server.address() as net.AddressInfo).port).toBe(tried[1])
  })

  it('gives up after the last try, and at once on a failure that is not a taken port', async () => {
    let tries = 0
    const taken = async ([port]: number[]) => {
      tries++
      await listen(port!)
      return listen(port!)
    }
    await expect(onFreePorts(1, taken, { taken: portTaken, attempts: 3 })).rejects.toThrow(
      /EADDRINUSE/,
    )
    expect(tries).toBe(3)

    tries = 0
    const broken = async () => {
      tries++
      throw new Error('the server exited: bad config')
    }
    await expect(onFreePorts(1, broken, { taken: portTaken })).rejects.toThrow('bad config')
    expect(tries).toBe(1)
  })
})
