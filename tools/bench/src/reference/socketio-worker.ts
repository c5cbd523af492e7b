/**
 * Load generator for the Socket.IO reference (reference/socketio.ts): the
 * same sockets, open loop and accounting as Parley's generator (worker.ts),
 * speaking Socket.IO's protocol (Engine.IO 4 over WebSocket) through the
 * same minimal WebSocket client, so each stack is measured with a load
 * generator of the same cost.
 *
 * A message body is `step:intendedSendNs:room:` padded to --body-bytes; a
 * delivery is the text frame `42["m","<body>"]`, read straight from its bytes.
 * Per (recipient, room) the deliveries are counted, to be checked against
 * the acknowledged sends to that room (Socket.IO gives events no seq, so
 * loss and duplicates are counted, not order).
 */
import { Conn, pool } from '../conn.ts'
import { LatencyCounts } from '../hist.ts'
import { serveCommands } from '../ipc.ts'
import { openLoop } from '../open-loop.ts'
import { nowNs } from '../recorder.ts'

export interface RefUser {
  i: number
  node: number
  rooms: number[]
}

export interface RefInit {
  nodes: string[]
  /** Members per room (everyone, not only this worker's users). */
  roomSizes: number[]
  users: RefUser[]
  localAddress: string
  bodyBytes: number
}

export interface RefStepStats {
  sent: number
  acked: number
  errors: number
  outstanding: number
  expected: number
  delivered: number
  lastDeliveryNs: number
  /** HDR compressed base64, µs (empty unless asked for). */
  latency: string
  ack: string
}

export interface RefIntegrity {
  subscriptions: number
  delivered: number
  lost: number
  duplicates: number
  unexpectedCloses: number
}

export type RefCommand =
  | { t: 'init'; init: RefInit }
  | { t: 'connect' }
  | { t: 'step'; step: number; rate: number; durationMs: number }
  | { t: 'stepStats'; step: number; histograms: boolean }
  /** Acknowledged sends per room, from this worker. */
  | { t: 'ackedByRoom' }
  /** Check every (recipient, room) count against the acknowledged sends to the room (all workers'). */
  | { t: 'verify'; ackedByRoom: number[] }
  | { t: 'exit' }

const ENGINE_PATH = '/socket.io/?EIO=4&transport=websocket'
const DELIVERY_PREFIX = Buffer.from('42["m","')

/** A Socket.IO client on Conn's WebSocket: CONNECT with the rooms as auth, pings answered, acked `send` events, deliveries handed on as bytes. */
class SioConn extends Conn {
  private nextAck = 0
  private readonly acks = new Map<number, () => void>()
  private connected: ((err: Error | null) => void) | null = null

  constructor(
    url: string,
    localAddress: string,
    private readonly onDelivery: (buf: Buffer, bodyStart: number, end: number) => void,
  ) {
    super(url, '', localAddress, ENGINE_PATH)
  }

  /** Socket.IO's CONNECT to the main namespace, naming the rooms to join. */
  join(rooms: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.connected = (err) => (err ? reject(err) : resolve())
      this.sendText(`40${JSON.stringify({ rooms })}`)
    })
  }

  send(room: string, body: string, onAck: () => void): boolean {
    const id = this.nextAck++
    if (!this.sendText(`42${id}${JSON.stringify(['send', room, body])}`)) return false
    this.acks.set(id, onAck)
    return true
  }

  protected override onMessage(buf: Buffer, s: number, e: number): void {
    const engine = buf[s]
    if (engine === 0x32 /* 2: ping */) {
      this.sendText('3')
      return
    }
    if (engine !== 0x34 /* 4: message */) return // 0: open (nothing to answer), 1: close, 6: noop
    const type = buf[s + 1]
    if (type === 0x32 /* 2: event */) {
      if (e - s > DELIVERY_PREFIX.length && buf.compare(DELIVERY_PREFIX, 0, DELIVERY_PREFIX.length, s, s + DELIVERY_PREFIX.length) === 0) this.onDelivery(buf, s + DELIVERY_PREFIX.length, e)
    } else if (type === 0x33 /* 3: ack */) {
      let id = 0
      for (let p = s + 2; p < e && buf[p]! >= 0x30 && buf[p]! <= 0x39; p++) id = id * 10 + buf[p]! - 0x30
      const h = this.acks.get(id)
      if (h) {
        this.acks.delete(id)
        h()
      }
    } else if (type === 0x30 /* 0: connect */) {
      this.connected?.(null)
      this.connected = null
    } else if (type === 0x34 /* 4: connect error */) {
      this.connected?.(new Error(`CONNECT refused: ${buf.toString('utf8', s + 2, e)}`))
      this.connected = null
    }
  }
}

type StepState = Omit<RefStepStats, 'latency' | 'ack'> & { latency: LatencyCounts; ack: LatencyCounts }

let init: RefInit
let padding = ''
const conns: SioConn[] = []
/** Deliveries per (connection, room): counts[conn * rooms + room]. */
let counts = new Int32Array(0)
let ackedByRoom = new Int32Array(0)
let unexpectedCloses = 0
const steps = new Map<number, StepState>()

function stepState(step: number): StepState {
  let s = steps.get(step)
  if (!s) {
    s = { sent: 0, acked: 0, errors: 0, outstanding: 0, expected: 0, delivered: 0, lastDeliveryNs: 0, latency: new LatencyCounts(), ack: new LatencyCounts() }
    steps.set(step, s)
  }
  return s
}

/** Reads `step:intended:room:` from the body's bytes. */
function received(connIndex: number, buf: Buffer, p: number, e: number): void {
  const now = nowNs()
  let step = 0
  while (p < e && buf[p] !== 0x3a) step = step * 10 + buf[p++]! - 0x30
  let intended = 0
  for (p++; p < e && buf[p] !== 0x3a; p++) intended = intended * 10 + buf[p]! - 0x30
  let room = 0
  for (p++; p < e && buf[p] !== 0x3a; p++) room = room * 10 + buf[p]! - 0x30
  const s = stepState(step)
  s.delivered++
  s.lastDeliveryNs = now
  s.latency.record((now - intended) / 1000)
  counts[connIndex * init.roomSizes.length + room]!++
}

async function connect(): Promise<{ connections: number; subscriptions: number }> {
  counts = new Int32Array(init.users.length * init.roomSizes.length)
  await pool(init.users, 64, async (u, k) => {
    const c = new SioConn(init.nodes[u.node]!, init.localAddress, (buf, p, e) => received(k, buf, p, e))
    await c.open()
    c.onClose = () => unexpectedCloses++
    await c.join(u.rooms.map((r) => `r${r}`))
    conns[k] = c
  })
  return { connections: conns.length, subscriptions: init.users.reduce((a, u) => a + u.rooms.length, 0) }
}

function sender(step: number): (intended: number) => void {
  const byRoom = new Map<number, number[]>()
  init.users.forEach((u, k) => {
    for (const r of u.rooms) (byRoom.get(r) ?? byRoom.set(r, []).get(r)!).push(k)
  })
  const rooms = [...byRoom.keys()]
  const rand = (n: number) => Math.floor(Math.random() * n)
  const s = stepState(step)
  return (intended) => {
    const room = rooms[rand(rooms.length)]!
    const members = byRoom.get(room)!
    const conn = conns[members[rand(members.length)]!]!
    // Whole ns: the schedule's times have fractions, and the recipient reads digits only.
    const head = `${step}:${Math.round(intended)}:${room}:`
    const body = head.length >= init.bodyBytes ? head : head + padding.slice(0, init.bodyBytes - head.length)
    s.sent++
    s.outstanding++
    const ok = conn.send(`r${room}`, body, () => {
      s.outstanding--
      s.acked++
      s.expected += init.roomSizes[room]!
      ackedByRoom[room]!++
      s.ack.record((nowNs() - intended) / 1000)
    })
    if (!ok) {
      s.outstanding--
      s.errors++
    }
  }
}

function verify(acked: number[]): RefIntegrity {
  const r: RefIntegrity = { subscriptions: 0, delivered: 0, lost: 0, duplicates: 0, unexpectedCloses }
  const n = init.roomSizes.length
  init.users.forEach((u, k) => {
    for (const room of u.rooms) {
      const got = counts[k * n + room]!
      r.subscriptions++
      r.delivered += got
      r.lost += Math.max(0, acked[room]! - got)
      r.duplicates += Math.max(0, got - acked[room]!)
    }
  })
  return r
}

serveCommands<RefCommand>(async (cmd) => {
  switch (cmd.t) {
    case 'init':
      init = cmd.init
      padding = 'x'.repeat(init.bodyBytes)
      ackedByRoom = new Int32Array(init.roomSizes.length)
      return null
    case 'connect':
      return connect()
    case 'step':
      await openLoop(cmd.rate, cmd.durationMs, sender(cmd.step)).done
      return null
    case 'stepStats': {
      const { latency, ack, ...counts } = stepState(cmd.step)
      return { ...counts, latency: cmd.histograms ? latency.encode() : '', ack: cmd.histograms ? ack.encode() : '' } satisfies RefStepStats
    }
    case 'ackedByRoom':
      return [...ackedByRoom]
    case 'verify':
      return verify(cmd.ackedByRoom)
    case 'exit':
      for (const c of conns) c.close()
      setTimeout(() => process.exit(0), 50)
      return null
  }
})
