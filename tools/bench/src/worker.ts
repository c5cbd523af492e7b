/**
 * One load-generator process (forked by main.ts, driven over IPC). It holds
 * WebSockets for a share of the users, subscribes them to their rooms, sends
 * on an open-loop schedule and measures every delivery:
 *
 * - latency: every message body carries `step:intendedSendNs:senderNode:`;
 *   the intended time is when the schedule *meant* to send it (not when the
 *   event loop got round to it), on `process.hrtime.bigint()`, which all
 *   processes on one Linux box share. Recipients record now − intended into
 *   an HDR histogram (µs), so a slow server or a slow generator cannot hide
 *   latency (no coordinated omission).
 * - integrity: per (recipient, room) subscription, the seqs seen: a gap is
 *   remembered, a later fill counts as out-of-order, a repeat as a duplicate,
 *   and at the end anything missing or short of the room's final seq as lost.
 *
 * With --read-markers each user also marks its first room read, as the PWA
 * does for the room on screen (useMarkRead): the newest seq it has, at most
 * every 5 s (± 25 %) while events arrive, on the same socket.
 */
import { Conn, errorCode, pool } from './conn.ts'
import type { Command, Integrity, StepStats, StormStatus, UserSpec, WorkerInit } from './protocol.ts'
import { newTrack, nowNs, Recorder, type Track } from './recorder.ts'
import { lostSeqs } from './tracker.ts'
import { serveCommands } from './ipc.ts'
import { openLoop } from './open-loop.ts'

let init!: WorkerInit
const rec = new Recorder()
const stepState = (step: number) => rec.stepState(step)
const mainConns = new Map<number, Conn>() // user index → connection
const mainTracks: Track[] = []
const stormTracks: Track[] = []
const stormConns: Conn[] = []
let capConns: { conn: Conn; room: number }[] = []
let unexpectedCloses = 0
let subscriptionErrors = 0
let clientSeq = 0
/** The step running (or the last one): read markers are counted against it. */
let currentStep = 0
const maxAckedSeq: number[] = []
let padding = ''

function subscribeTrack(conn: Conn, t: Track, roomId: string, lastEventId: number | undefined, onStarted: () => void, afterEvent?: () => void): void {
  conn.subscribe('events.room', lastEventId === undefined ? { roomId } : { roomId, lastEventId: String(lastEventId) }, {
    onStarted,
    onData: (m) => {
      rec.onEvent(t, m)
      afterEvent?.()
    },
    onError: () => {
      t.errored = true
      subscriptionErrors++
    },
    onStopped: () => {},
  })
}

function makeBody(step: number, intended: number, node: number): string {
  const head = `${step}:${intended}:${node}:`
  return head.length >= init.bodyBytes ? head : head + padding.slice(0, init.bodyBytes - head.length)
}

function sendOne(step: number, conn: Conn, room: number, node: number, intended: number, expectedPerAck: number): void {
  const s = stepState(step)
  s.sent++
  s.outstanding++
  const input = { roomId: init.rooms[room]!.id, clientId: `w${init.workerIndex}-${clientSeq++}`, body: makeBody(step, intended, node) }
  const ok = conn.mutate('messages.send', input, (ok, data) => {
    s.outstanding--
    if (ok) {
      s.acked++
      s.expected += expectedPerAck
      s.ack.record((nowNs() - intended) / 1000)
      const seq = (data as { seq?: number } | undefined)?.seq
      if (typeof seq === 'number' && seq > (maxAckedSeq[room] ?? 0)) maxAckedSeq[room] = seq
    } else {
      const code = errorCode(data)
      s.errors[code] = (s.errors[code] ?? 0) + 1
    }
  })
  if (!ok) {
    s.outstanding--
    s.errors.NOT_OPEN = (s.errors.NOT_OPEN ?? 0) + 1
  }
}

/** The PWA's wait before a read marker (apps/web/src/composables/useMarkRead.ts): 5 s ± 25 %; keep the two equal. */
const markReadDelay = () => 5000 * (0.75 + Math.random() * 0.5)

/** A reader with `t`'s room on screen: after an event, its newest seq goes to the server within markReadDelay(). */
function readMarker(conn: Conn, t: Track, roomId: string): () => void {
  let timer: NodeJS.Timeout | null = null
  let sentSeq = t.last
  return () => {
    timer ??= setTimeout(() => {
      timer = null
      if (t.last <= sentSeq) return
      sentSeq = t.last
      const s = stepState(currentStep)
      const ok = conn.mutate('rooms.markRead', { roomId, seq: t.last }, (ok, data) => {
        if (ok) s.markers++
        else {
          const code = `markRead ${errorCode(data)}`
          s.errors[code] = (s.errors[code] ?? 0) + 1
        }
      })
      if (!ok) s.errors['markRead NOT_OPEN'] = (s.errors['markRead NOT_OPEN'] ?? 0) + 1
    }, markReadDelay())
  }
}

type Pick = () => { conn: Conn; room: number; node: number; expected: number } | null

/** What the open loop fires: one message from whoever `pick` chooses, stamped with its scheduled time. */
const pickAndSend =
  (step: number, pick: Pick) =>
  (intended: number): void => {
    const p = pick()
    if (p) sendOne(step, p.conn, p.room, p.node, intended, p.expected)
  }

const rand = (n: number) => Math.floor(Math.random() * n)

// ---------- main load ----------

async function connectMain(startSeqs: number[]): Promise<void> {
  await pool(init.users, 64, async (u) => {
    const conn = new Conn(init.nodes[u.node]!, u.cookie, init.localAddress)
    await conn.open()
    conn.onClose = () => unexpectedCloses++
    mainConns.set(u.i, conn)
    await Promise.all(
      u.rooms.map(
        (r, k) =>
          new Promise<void>((resolve) => {
            const t = newTrack(r, u.node, startSeqs[r]!)
            mainTracks.push(t)
            const onScreen = init.readMarkers && k === 0
            subscribeTrack(conn, t, init.rooms[r]!.id, startSeqs[r], resolve, onScreen ? readMarker(conn, t, init.rooms[r]!.id) : undefined)
          }),
      ),
    )
  })
}

function mainPicker(): Pick {
  const byRoom = new Map<number, UserSpec[]>()
  for (const u of init.users) for (const r of u.rooms) (byRoom.get(r) ?? byRoom.set(r, []).get(r)!).push(u)
  const rooms = [...byRoom.keys()]
  return () => {
    const room = rooms[rand(rooms.length)]!
    const members = byRoom.get(room)!
    const u = members[rand(members.length)]!
    const conn = mainConns.get(u.i)
    return conn ? { conn, room, node: u.node, expected: init.rooms[room]!.size } : null
  }
}

/** The step's figures; the latency histograms (encoding them costs milliseconds) only when asked for. */
function stepStats(step: number, histograms = true): StepStats {
  const s = stepState(step)
  return {
    step,
    sent: s.sent,
    acked: s.acked,
    errors: s.errors,
    outstanding: s.outstanding,
    expected: s.expected,
    delivered: s.delivered,
    crossNode: s.crossNode,
    lastDeliveryNs: s.lastDeliveryNs,
    worstBySecond: s.worstBySecond,
    markers: s.markers,
    latency: histograms ? s.latency.encode() : '',
    ack: histograms ? s.ack.encode() : '',
  }
}

function verify(tracks: Track[], finalSeqs: number[]): Integrity {
  const r: Integrity = { subscriptions: tracks.length, delivered: 0, lost: 0, duplicates: 0, outOfOrder: 0, resets: 0, ahead: 0, subscriptionErrors, unexpectedCloses }
  for (const t of tracks) {
    const final = finalSeqs[t.room]!
    r.delivered += t.delivered
    r.lost += lostSeqs(t, final)
    r.duplicates += t.duplicates
    r.outOfOrder += t.outOfOrder
    r.resets += t.resets
    if (t.last > final) r.ahead++
  }
  return r
}

// ---------- capacity ----------

async function capOpen(node: number, count: number): Promise<void> {
  const memberships = init.users.flatMap((u) => u.rooms.map((room) => ({ u, room })))
  capConns = Array.from({ length: count }, (_, j) => {
    const { u, room } = memberships[j % memberships.length]!
    return { conn: new Conn(init.nodes[node]!, u.cookie, init.localAddress), room }
  })
  await pool(capConns, 100, async (c) => {
    // A connection the node refuses (past its MAX_CONNECTIONS) is reported as not open, not an abort.
    await c.conn.open(60_000).catch(() => {})
  })
  capConns = capConns.filter((c) => c.conn.isOpen)
}

/** Subscribes every capacity connection to `path`; returns how many were refused. */
async function capSubscribe(path: 'events.room' | 'events.user'): Promise<number> {
  let errors = 0
  await pool(capConns, 200, async ({ conn, room }) => {
    await new Promise<void>((resolve) => {
      conn.subscribe(path, path === 'events.room' ? { roomId: init.rooms[room]!.id } : undefined, {
        onStarted: resolve,
        onData: () => {},
        onError: () => {
          errors++
          resolve()
        },
        onStopped: resolve,
      })
    })
  })
  return errors
}

// ---------- reconnect storm ----------

let stormTargets: number[] | null = null
const storm: StormStatus = {
  clients: 0,
  closed: 0,
  reconnected: 0,
  resubscribed: 0,
  caughtUp: 0,
  lastReconnectedNs: 0,
  lastResubscribedNs: 0,
  lastCaughtUpNs: 0,
  reconnectFailures: 0,
  reclosed: 0,
  unansweredResumes: 0,
  userStreamErrors: 0,
  roomListsLoaded: 0,
  lastRoomListNs: 0,
  roomListErrors: {},
}
let stormSender: { stop: () => void } | null = null
const RESUME_TIMEOUT_MS = 10_000
const stormSenderConns: Conn[] = []

function checkCaughtUp(t: Track): void {
  if (!t.caughtUp && t.resubscribed && stormTargets && t.last >= stormTargets[t.room]!) {
    t.caughtUp = true
    storm.caughtUp++
    storm.lastCaughtUpNs = Math.max(storm.lastCaughtUpNs, nowNs())
  }
}

rec.onResumedProgress = checkCaughtUp

async function stormOpen(node: number, failover: number, count: number, startSeqs: number[], jitterMs: number, handshakeTimeoutMs: number, pwa: boolean): Promise<void> {
  // As the PWA: an events.user stream next to the room's, reopened with it.
  const watchUser = (conn: Conn) => {
    if (pwa) conn.subscribe('events.user', undefined, { onStarted: () => {}, onData: () => {}, onError: () => storm.userStreamErrors++, onStopped: () => {} })
  }
  // And, as the PWA does on every reopen, the room list again (its unread counts and last messages), over the new socket.
  const refetchRoomList = (conn: Conn, loaded: { done: boolean }, attempt = 0): void => {
    conn.query('rooms.list', undefined, (ok, data) => {
      if (ok) {
        if (loaded.done) return
        loaded.done = true
        storm.roomListsLoaded++
        storm.lastRoomListNs = Math.max(storm.lastRoomListNs, nowNs())
        return
      }
      const code = errorCode(data)
      storm.roomListErrors[code] = (storm.roomListErrors[code] ?? 0) + 1
      // A socket that dropped asks again when the next one opens, as the PWA does.
      if (code !== 'CONNECTION_CLOSED') setTimeout(() => refetchRoomList(conn, loaded, attempt + 1), Math.min(50 * 2 ** attempt, 1000))
    })
  }
  const memberships = init.users.flatMap((u) => u.rooms.map((r) => ({ u, r })))
  const clients = Array.from({ length: count }, (_, j) => memberships[j % memberships.length]!)
  storm.clients = count
  await pool(clients, 100, async ({ u, r }) => {
    const t = newTrack(r, node, startSeqs[r]!)
    stormTracks.push(t)
    const conn = await openRetrying(node, u.cookie)
    stormConns.push(conn)
    watchUser(conn)
    await new Promise<void>((resolve) => subscribeTrack(conn, t, init.rooms[r]!.id, startSeqs[r], resolve))
    const roomList = { done: false }
    conn.onClose = () => {
      storm.closed++
      const reconnect = (attempt: number): void => {
        const c = new Conn(init.nodes[failover]!, u.cookie, init.localAddress)
        // Give up on a handshake that hangs (e.g. a dropped SYN in an accept-queue overflow) and retry; 0: wait, as tRPC's client does.
        c.open(handshakeTimeoutMs).then(
          () => {
            stormConns.push(c)
            storm.reconnected++
            storm.lastReconnectedNs = Math.max(storm.lastReconnectedNs, nowNs())
            t.node = failover
            let started = false
            // A client whose socket drops again, or whose resume is never answered, starts over (and is counted).
            c.onClose = () => {
              clearTimeout(stuck)
              storm.reclosed++
              if (!started) setTimeout(() => reconnect(attempt + 1), Math.min(50 * 2 ** attempt, 1000))
              else reconnect(0)
            }
            const stuck = setTimeout(() => {
              if (started) return
              storm.unansweredResumes++
              c.close()
              reconnect(attempt + 1)
            }, RESUME_TIMEOUT_MS)
            watchUser(c)
            if (pwa) refetchRoomList(c, roomList)
            // Resume from the last seq this client saw: the server replays the rest.
            subscribeTrack(c, t, init.rooms[r]!.id, t.last, () => {
              if (started) return
              started = true
              clearTimeout(stuck)
              if (t.resubscribed) return
              t.resubscribed = true
              storm.resubscribed++
              storm.lastResubscribedNs = Math.max(storm.lastResubscribedNs, nowNs())
              checkCaughtUp(t)
            })
          },
          () => {
            storm.reconnectFailures++
            setTimeout(() => reconnect(attempt + 1), Math.min(50 * 2 ** attempt, 1000))
          },
        )
      }
      setTimeout(() => reconnect(0), Math.random() * jitterMs)
    }
  })
}

/**
 * A storm client's first connection. An accept queue that overflows (the
 * storm test runs with one of 32 under a busy machine) can reset it: it tries
 * again, as a real client would, instead of failing the run.
 */
async function openRetrying(node: number, cookie: string): Promise<Conn> {
  for (let attempt = 0; ; attempt++) {
    const conn = new Conn(init.nodes[node]!, cookie, init.localAddress)
    try {
      await conn.open(60_000)
      return conn
    } catch (err) {
      if (attempt >= 5) throw err
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2000)))
    }
  }
}

async function stormSend(node: number, rate: number): Promise<void> {
  // One sender per room this worker has storm clients in: a local member, connected to the surviving node.
  const rooms = [...new Set(stormTracks.map((t) => t.room))]
  const senders: { conn: Conn; room: number }[] = []
  await pool(rooms, 32, async (room) => {
    const u = init.users.find((x) => x.rooms.includes(room))!
    const conn = await openRetrying(node, u.cookie)
    conn.onClose = () => unexpectedCloses++
    stormSenderConns.push(conn)
    senders.push({ conn, room })
  })
  stormSender = openLoop(rate, Infinity, pickAndSend(-1, () => {
    const s = senders[rand(senders.length)]
    return s ? { ...s, node, expected: 0 } : null
  }))
}

// ---------- IPC ----------

async function handle(req: Command): Promise<unknown> {
  switch (req.t) {
    case 'init':
      init = req.init
      padding = 'x'.repeat(Math.max(0, init.bodyBytes))
      return null
    case 'connect':
      await connectMain(req.startSeqs)
      return { connections: mainConns.size, subscriptions: mainTracks.length }
    case 'step': {
      currentStep = req.step
      const { done } = openLoop(req.rate, req.durationMs, pickAndSend(req.step, mainPicker()))
      await done
      return null
    }
    case 'stepStats':
      return stepStats(req.step, req.histograms !== false)
    case 'verify':
      return verify(req.scope === 'main' ? mainTracks : stormTracks, req.finalSeqs)
    case 'closeMain':
      for (const c of mainConns.values()) c.close()
      return null
    case 'capOpen':
      await capOpen(req.node, req.count)
      return { open: capConns.length }
    case 'capSubscribe':
      return { subscriptionErrors: await capSubscribe(req.path) }
    case 'capClose':
      for (const c of capConns) c.conn.close()
      capConns = []
      return null
    case 'stormOpen':
      await stormOpen(req.node, req.failover, req.count, req.startSeqs, req.jitterMs, req.handshakeTimeoutMs, req.pwa)
      return { clients: stormTracks.length }
    case 'stormSend':
      await stormSend(req.node, req.rate)
      return null
    case 'maxAcked':
      return maxAckedSeq
    case 'stormTargets':
      stormTargets = req.targets
      for (const t of stormTracks) checkCaughtUp(t)
      return null
    case 'stormStatus':
      return storm
    case 'stormStopSend':
      stormSender?.stop()
      return stepStats(-1)
    case 'exit':
      for (const c of [...mainConns.values(), ...stormConns, ...stormSenderConns]) c.close()
      setTimeout(() => process.exit(0), 50)
      return null
  }
}

serveCommands(handle)
