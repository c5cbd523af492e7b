/**
 * What the orchestrator (main.ts) and the load-generator processes
 * (worker.ts) say to each other over the fork() IPC channel. Every command
 * carries a request id `rid`; the worker answers with the same `rid`.
 */

export interface RoomSpec {
  id: string
  /** Members, all of whom are subscribed during the load steps. */
  size: number
}

export interface UserSpec {
  /** Global user index. */
  i: number
  cookie: string
  /** Node this user's main connection goes to. */
  node: number
  /** Indices into the rooms array. */
  rooms: number[]
}

export interface WorkerInit {
  workerIndex: number
  /** http://127.0.0.1:port of each Parley node. */
  nodes: string[]
  rooms: RoomSpec[]
  users: UserSpec[]
  /** Source address for this worker's sockets (a distinct 127.0.0.x gives each worker its own ephemeral-port range). */
  localAddress: string
  bodyBytes: number
  /** --read-markers: each user marks its first room read as the PWA does for the room on screen. */
  readMarkers: boolean
}

export type Command =
  | { t: 'init'; init: WorkerInit }
  /** Open one WebSocket per user to its node and subscribe to every room of the user from `startSeqs`. */
  | { t: 'connect'; startSeqs: number[] }
  /** Open-loop sending for one step at `rate` messages/s (this worker's share). */
  | { t: 'step'; step: number; rate: number; durationMs: number }
  /** `histograms: false` leaves `latency` and `ack` empty (cheap enough to poll while a step drains). */
  | { t: 'stepStats'; step: number; histograms?: boolean }
  /** Check every (recipient, room) against the rooms' final seqs. */
  | { t: 'verify'; finalSeqs: number[]; scope: 'main' | 'storm' }
  | { t: 'closeMain' }
  | { t: 'capOpen'; node: number; count: number }
  /** events.room (one room each), then events.user on the same connections: what the PWA holds. */
  | { t: 'capSubscribe'; path: 'events.room' | 'events.user' }
  | { t: 'capClose' }
  | { t: 'stormOpen'; node: number; failover: number; count: number; startSeqs: number[]; jitterMs: number; handshakeTimeoutMs: number; pwa: boolean }
  | { t: 'stormSend'; node: number; rate: number }
  | { t: 'stormTargets'; targets: number[]; killedAtNs: number }
  | { t: 'stormStatus' }
  | { t: 'stormStopSend' }
  | { t: 'maxAcked' }
  | { t: 'exit' }

/** Per-step figures one worker reports; histograms are HDR compressed base64, values in microseconds. */
export interface StepStats {
  step: number
  sent: number
  acked: number
  errors: Record<string, number>
  outstanding: number
  /** Σ room size over acknowledged sends: deliveries this step should produce. */
  expected: number
  delivered: number
  /** Deliveries whose recipient is connected to another node than the sender. */
  crossNode: number
  /** hrtime ns of the last delivery of this step's messages (0 if none). */
  lastDeliveryNs: number
  /** Worst send→receive latency (µs) per second of intended send time (hrtime seconds → µs). */
  worstBySecond: Record<number, number>
  /** Read markers the server took while this step ran or drained (--read-markers). */
  markers: number
  latency: string
  ack: string
}

export interface Integrity {
  subscriptions: number
  delivered: number
  lost: number
  duplicates: number
  outOfOrder: number
  resets: number
  /** Subscriptions that saw a seq above the room's final seq (should not happen). */
  ahead: number
  subscriptionErrors: number
  unexpectedCloses: number
}

export interface StormStatus {
  clients: number
  closed: number
  reconnected: number
  resubscribed: number
  caughtUp: number
  /** hrtime ns of the last client to reach each milestone (0 if none yet). */
  lastReconnectedNs: number
  lastResubscribedNs: number
  lastCaughtUpNs: number
  reconnectFailures: number
  /** Connections to the surviving node that closed again (the client reconnected once more). */
  reclosed: number
  /** Resume requests with no answer within 10 s (the client dropped the socket and retried). */
  unansweredResumes: number
  /** --storm-pwa: events.user requests answered with an error. */
  userStreamErrors: number
  /** --storm-pwa: clients whose room list (`rooms.list` over the new socket, refetched on reconnect as the PWA does; over HTTP in runs before 12-03 22:30) was answered since the kill. */
  roomListsLoaded: number
  /** hrtime ns of the last client's first room list since the kill (0 if none yet). */
  lastRoomListNs: number
  /** --storm-pwa: `rooms.list` requests that failed (the client tried again), by tRPC error code or network error. */
  roomListErrors: Record<string, number>
}
