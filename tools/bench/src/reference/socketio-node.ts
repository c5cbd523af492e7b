/**
 * The reference stack the throughput target was set against (issue #9):
 * Socket.IO with its Redis adapter, persisting nothing, checking nothing.
 * A client names its rooms in the CONNECT packet's auth; `send(room, body,
 * ack)` broadcasts `m(body)` to the room on every node through Redis and
 * acknowledges. Run by reference/socketio.ts, one process per node.
 *
 * With MONGODB_URL set (`--reference socketio-mongo`) it first writes each
 * message to MongoDB with the same driver Parley uses — the simplest
 * persisting chat server: one insertOne per message, then the broadcast.
 */
import { createServer } from 'node:http'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import { MongoClient } from 'mongodb'
import { Server } from 'socket.io'

const port = Number(process.env.PORT)
const redisUrl = process.env.REDIS_URL
if (!port || !redisUrl) throw new Error('PORT and REDIS_URL are required')

const mongo = process.env.MONGODB_URL ? new MongoClient(process.env.MONGODB_URL) : null
const messages = mongo?.db().collection<{ room: string; body: string; at: Date }>('messages')
if (mongo) await mongo.connect()

const pub = new Redis(redisUrl)
const sub = pub.duplicate()
const http = createServer()
// Sockets only (no long-polling), no compression: the cheapest Socket.IO can be.
const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false })
io.adapter(createAdapter(pub, sub))

io.on('connection', (socket) => {
  const rooms: unknown = (socket.handshake.auth as { rooms?: unknown }).rooms
  if (Array.isArray(rooms)) void socket.join(rooms.filter((r): r is string => typeof r === 'string'))
  socket.on('send', (room: unknown, body: unknown, ack: unknown) => {
    const done = () => typeof ack === 'function' && (ack as () => void)()
    if (typeof room !== 'string' || typeof body !== 'string') return done()
    if (!messages) {
      io.to(room).emit('m', body)
      return done()
    }
    messages.insertOne({ room, body, at: new Date() }).then(
      () => {
        io.to(room).emit('m', body)
        done()
      },
      (err: unknown) => console.error('insert failed', err),
    )
  })
})

http.listen(port, '127.0.0.1', () => process.send?.('ready'))
process.on('disconnect', () => process.exit(0))
