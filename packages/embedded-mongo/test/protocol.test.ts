import net from 'node:net'
import { BSON } from 'bson'
import { MongoServerError } from 'mongodb'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Harness, connect } from './helpers.ts'

let h: Harness

beforeAll(async () => {
  h = await connect()
})
afterAll(async () => {
  await h.close()
})

/** Sends raw bytes and resolves with what came back before the server closed the socket (or a timeout). */
function rawExchange(bytes: Buffer, waitMs = 1000): Promise<{ closed: boolean; data: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const socket = net.connect(h.server.port, '127.0.0.1', () => socket.write(bytes))
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ closed: false, data: Buffer.concat(chunks) })
    }, waitMs)
    socket.on('data', (d) => chunks.push(d))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ closed: true, data: Buffer.concat(chunks) })
    })
  })
}

function opMsg(doc: object, flags = 0): Buffer {
  const body = BSON.serialize(doc)
  const head = Buffer.alloc(21)
  head.writeInt32LE(21 + body.length, 0)
  head.writeInt32LE(7, 4)
  head.writeInt32LE(2013, 12)
  head.writeUInt32LE(flags, 16)
  head[20] = 0
  return Buffer.concat([head, body])
}

describe('command errors', () => {
  it('answers unknown commands with CommandNotFound and keeps serving', async () => {
    const err = await h.client
      .db('p')
      .command({ frobnicate: 1 })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MongoServerError)
    expect(err).toMatchObject({ code: 59, codeName: 'CommandNotFound' })
    expect((err as Error).message).toContain("no such command: 'frobnicate'")
    expect(await h.client.db('p').command({ ping: 1 })).toMatchObject({ ok: 1 })
  })

  it('rejects bad input with MongoDB error codes', async () => {
    const db = h.client.db('p')
    await expect(db.command({ find: 'c', filter: 'not an object' })).rejects.toMatchObject({ code: 14 })
    await expect(db.collection('c').find({ a: { $nosuchop: 1 } }).toArray()).rejects.toMatchObject({ code: 2 })
    await expect(db.command({ find: 5 })).rejects.toMatchObject({ code: 73 })
    await expect(db.command({ insert: 'c' })).rejects.toBeInstanceOf(MongoServerError)
    await expect(db.collection('c').aggregate([{ $nosuchstage: {} }]).toArray()).rejects.toBeInstanceOf(MongoServerError)
    await expect(db.command({ aggregate: 'c', pipeline: [] })).rejects.toMatchObject({ code: 9 })
    await expect(db.command({ delete: 'c', deletes: [{ q: {}, limit: 5 }] })).resolves.toMatchObject({ writeErrors: [{ code: 2 }] })
    expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 })
  })
})

describe('wire protocol robustness', () => {
  it('answers a raw OP_MSG, honouring a checksum trailer', async () => {
    const msg = opMsg({ ping: 1, $db: 'admin' }, 1)
    const withCrc = Buffer.concat([msg, Buffer.alloc(4)])
    withCrc.writeInt32LE(withCrc.length, 0)
    const { data } = await rawExchange(withCrc, 300)
    expect(data.readInt32LE(12)).toBe(2013)
    expect(data.readInt32LE(8)).toBe(7) // responseTo
    expect(BSON.deserialize(data.subarray(21))).toMatchObject({ ok: 1 })
  })

  it('closes only the offending socket on malformed frames', async () => {
    const coll = h.client.db('p').collection('alive')
    await coll.insertOne({ before: true })

    const badLength = Buffer.alloc(16)
    badLength.writeInt32LE(3, 0)
    expect((await rawExchange(badLength)).closed).toBe(true)

    const badBson = opMsg({ ping: 1 })
    badBson.writeInt32LE(0x7fff, 21) // document length lies
    expect((await rawExchange(badBson)).closed).toBe(true)

    const badOpcode = opMsg({ ping: 1 })
    badOpcode.writeInt32LE(9999, 12)
    expect((await rawExchange(badOpcode)).closed).toBe(true)

    const badSection = opMsg({ ping: 1 })
    badSection[20] = 7
    expect((await rawExchange(badSection)).closed).toBe(true)

    const garbage = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    expect((await rawExchange(garbage)).closed).toBe(true)

    // The driver's pooled connections were unaffected.
    await coll.insertOne({ after: true })
    expect(await coll.countDocuments()).toBe(2)
  })

  it('does not reply to moreToCome (w:0) messages but still applies them', async () => {
    // On one socket an insert flagged moreToCome (2), then a count (request 8): the count is answered, and
    // it is the only reply, so the server read the insert and chose to stay silent; the count sees it.
    const insert = opMsg({ insert: 'w0raw', documents: [{ a: 1 }], $db: 'p' }, 2)
    const count = opMsg({ count: 'w0raw', $db: 'p' })
    count.writeInt32LE(8, 4)
    const { data } = await rawExchange(Buffer.concat([insert, count]), 300)
    expect(data.length).toBeGreaterThan(16)
    expect(data.readInt32LE(0)).toBe(data.length) // one message, nothing before or after it
    expect(data.readInt32LE(8)).toBe(8) // responseTo: the count
    expect(BSON.deserialize(data.subarray(21))).toMatchObject({ n: 1, ok: 1 })

    // The driver's w:0 write: nothing to wait for but the document itself.
    const coll = h.client.db('p').collection('w0')
    await coll.insertOne({ a: 1 }, { writeConcern: { w: 0 } })
    await vi.waitFor(async () => expect(await coll.countDocuments()).toBe(1))
  })

  it('refuses transactions like a standalone mongod', async () => {
    const session = h.client.startSession()
    try {
      session.startTransaction()
      const err = await h.client
        .db('p')
        .collection('tx')
        .insertOne({ a: 1 }, { session })
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(Error)
    } finally {
      await session.endSession()
    }
  })
})
