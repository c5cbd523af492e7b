/**
 * Reading the server's tRPC WebSocket messages cheaply. Every delivery is one
 * text message like
 *
 *   {"id":7,"result":{"type":"data","data":{"id":"123","data":{"type":"message.created",…,"body":"1:8512…:0:xxx",…}},"id":"123"}}
 *
 * (tRPC's adapter builds `result` as {type, data} and adds `id` afterwards,
 * so the tracked id comes last) or, from a server that writes the frame
 * itself, the same with `"type":"data","id":"123","data":{…}`. Of all that
 * the load generator needs the request id, the tracked id (the room seq), the
 * event type and the `step:intendedNs:senderNode:` stamp at the start of a
 * message body — so `scanData` reads exactly those from the raw bytes, without
 * building a string or an object. It accepts only the two shapes above, byte
 * for byte, and says no to anything else (other key orders, whitespace,
 * escapes where it reads, `reset` events, errors, untracked events such as
 * `typing`); the caller then uses `parseMessage`, a full `JSON.parse` with the
 * original semantics. Both fill the same reusable `ServerMsg`.
 */

/** What one server message says, as far as the load generator cares. One object is reused for every message: read it, don't keep it. */
export interface ServerMsg {
  /** The request it answers (a subscription or a mutation); -1 if none (e.g. `{"method":"reconnect"}`). */
  id: number
  kind: 'data' | 'started' | 'stopped' | 'error' | 'other'
  /** kind 'data': whether the value is a tracked envelope (`result.id` present). */
  tracked: boolean
  /** Number(result.id) when tracked (the room seq for `events.room`), else NaN. */
  trackedId: number
  /** The event's `type` ('' if the value has none). */
  eventType: string
  /** The event's own `seq` — filled for `reset` events only (NaN if absent). */
  seq: number
  /** A `message.created` whose body starts with a bench stamp `step:intendedNs:senderNode:`. */
  stamped: boolean
  step: number
  intendedNs: number
  senderNode: number
  /** Only from parseMessage: `error` of an error reply, `result.data` of a data reply (undefined otherwise). */
  payload: unknown
}

export function newServerMsg(): ServerMsg {
  return { id: -1, kind: 'other', tracked: false, trackedId: NaN, eventType: '', seq: NaN, stamped: false, step: 0, intendedNs: 0, senderNode: 0, payload: undefined }
}

export const MESSAGE_CREATED = 'message.created'

const lit = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))
const HEAD = lit('{"id":')
const RESULT_TYPE = lit(',"result":{"type":"')
const DATA = lit('data",')
const STARTED = lit('started"}}')
const STOPPED = lit('stopped"}}')
const ID_STR = lit('"id":"') // result.id, then data.id
const DATA_ID = lit('","data":{"id":"') // order A: between result.id and data.id
const DATA_OPEN_ID = lit('"data":{"id":"') // order B
const INNER_DATA = lit('","data":')
const EVENT_TYPE = lit('{"type":"')
const TAIL_ID = lit('},"id":"') // order B: after the event
const BODY = lit('"body":"')
/** Horspool shifts for BODY: how far the window may move when its last byte is c. */
const BODY_SHIFT = new Uint8Array(256).fill(BODY.length)
for (let j = 0; j < BODY.length - 1; j++) BODY_SHIFT[BODY[j]!] = BODY.length - 1 - j
const MC = lit(MESSAGE_CREATED)
const RESET = lit('reset')

const Q = 0x22 // "
const BS = 0x5c // \
const COLON = 0x3a
const MINUS = 0x2d
const RBRACE = 0x7d

function matchAt(b: Buffer, i: number, l: Uint8Array, end: number): boolean {
  if (i + l.length > end) return false
  for (let j = 0; j < l.length; j++) if (b[i + j] !== l[j]) return false
  return true
}

// Digit runs: the end index is left in `numEnd`, the value returned (-1: no digits).
let numEnd = 0
function digits(b: Buffer, i: number, end: number): number {
  let v = 0
  const start = i
  while (i < end) {
    const c = b[i]! - 0x30
    if (c < 0 || c > 9) break
    v = v * 10 + c
    i++
  }
  numEnd = i
  if (i === start) return -1
  // Beyond 2^53 digit-by-digit accumulation may round differently from Number(string): use the latter.
  if (i - start > 15) return Number(b.toString('latin1', start, i))
  return v
}

/**
 * The fast path, for `events.room` data frames and started/stopped replies
 * in the exact shapes described above. Returns false — with `m` in an
 * unspecified state — for anything else.
 */
export function scanData(b: Buffer, start: number, end: number, m: ServerMsg): boolean {
  if (b.length < end || !matchAt(b, start, HEAD, end)) return false
  const id = digits(b, start + HEAD.length, end)
  if (id < 0) return false
  let i = numEnd
  if (!matchAt(b, i, RESULT_TYPE, end)) return false
  i += RESULT_TYPE.length
  m.id = id
  m.payload = undefined
  m.tracked = false
  m.trackedId = NaN
  m.eventType = ''
  m.seq = NaN
  m.stamped = false
  if (matchAt(b, i, STARTED, end) || matchAt(b, i, STOPPED, end)) {
    if (i + STARTED.length !== end) return false
    m.kind = b[i] === 0x73 /* s */ && b[i + 2] === 0x61 /* a */ ? 'started' : 'stopped'
    return true
  }
  if (!matchAt(b, i, DATA, end)) return false
  i += DATA.length
  let tracked: number
  let eventStart: number
  if (matchAt(b, i, ID_STR, end)) {
    // Order A: "id":"S","data":{"id":"S","data":EVENT}}}
    tracked = digits(b, i + ID_STR.length, end)
    if (tracked < 0 || !matchAt(b, numEnd, DATA_ID, end)) return false
    const inner = digits(b, numEnd + DATA_ID.length, end)
    if (inner !== tracked || !matchAt(b, numEnd, INNER_DATA, end)) return false
    eventStart = numEnd + INNER_DATA.length
    if (end - eventStart < 4 || b[end - 1] !== RBRACE || b[end - 2] !== RBRACE || b[end - 3] !== RBRACE || b[end - 4] !== RBRACE) return false
  } else if (matchAt(b, i, DATA_OPEN_ID, end)) {
    // Order B: "data":{"id":"S","data":EVENT},"id":"S"}}
    const sStart = i + DATA_OPEN_ID.length
    tracked = digits(b, sStart, end)
    if (tracked < 0 || !matchAt(b, numEnd, INNER_DATA, end)) return false
    const sLen = numEnd - sStart
    eventStart = numEnd + INNER_DATA.length
    // The tail must repeat the same id: },"id":"S"}}
    const tail = end - 3 - sLen - TAIL_ID.length
    if (tail <= eventStart || !matchAt(b, tail, TAIL_ID, end) || b[end - 3] !== Q || b[end - 2] !== RBRACE || b[end - 1] !== RBRACE) return false
    for (let j = 0; j < sLen; j++) if (b[tail + TAIL_ID.length + j] !== b[sStart + j]) return false
  } else return false
  // The event: {"type":"…"
  if (!matchAt(b, eventStart, EVENT_TYPE, end)) return false
  const ts = eventStart + EVENT_TYPE.length
  let te = ts
  while (te < end && b[te] !== Q) {
    if (b[te] === BS) return false
    te++
  }
  if (te >= end) return false
  const tlen = te - ts
  m.kind = 'data'
  m.tracked = true
  m.trackedId = tracked
  if (tlen === MC.length && matchAt(b, ts, MC, end)) {
    m.eventType = MESSAGE_CREATED
    // The message body: the only "body" key of a message.created event (a JSON string cannot contain an unescaped `"body":"`).
    const at = findBody(b, te, end)
    if (at < 0) return true // no body: untimed, as in parseMessage
    return scanStamp(b, at + BODY.length, end, m)
  }
  if (tlen === RESET.length && matchAt(b, ts, RESET, end)) return false // needs the event's seq: full parse
  m.eventType = b.toString('latin1', ts, te)
  return true
}

/** Where `"body":"` starts in b[from, end), or -1 (Horspool: faster here than Buffer#indexOf, whose call costs more than the search). */
function findBody(b: Buffer, from: number, end: number): number {
  const last = end - BODY.length
  let i = from
  while (i <= last) {
    const c = b[i + 7]!
    if (c === Q && b[i] === Q && b[i + 1] === 0x62 && b[i + 2] === 0x6f && b[i + 3] === 0x64 && b[i + 4] === 0x79 && b[i + 5] === Q && b[i + 6] === COLON) return i
    i += BODY_SHIFT[c]!
  }
  return -1
}

/** The strict stamp grammar `-?\d+:\d+:\d+:` at `i`; false (full parse) if the body starts any other way. */
function scanStamp(b: Buffer, i: number, end: number, m: ServerMsg): boolean {
  const neg = b[i] === MINUS
  const step = digits(b, neg ? i + 1 : i, end)
  if (step < 0 || numEnd >= end || b[numEnd] !== COLON) return false
  const intended = digits(b, numEnd + 1, end)
  if (intended < 0 || numEnd >= end || b[numEnd] !== COLON) return false
  const node = digits(b, numEnd + 1, end)
  if (node < 0 || numEnd >= end || b[numEnd] !== COLON) return false
  m.stamped = true
  m.step = neg ? -step : step
  m.intendedNs = intended
  m.senderNode = node
  return true
}

interface EventLike {
  type?: unknown
  seq?: unknown
  message?: { body?: unknown }
}

/** Any message, by JSON.parse: the reference semantics. Returns false if the text is not JSON. */
export function parseMessage(text: string, m: ServerMsg): boolean {
  let msg: { id?: unknown; result?: { type?: unknown; id?: unknown; data?: unknown }; error?: unknown }
  try {
    msg = JSON.parse(text)
  } catch {
    return false
  }
  m.id = typeof msg?.id === 'number' ? msg.id : -1
  m.kind = 'other'
  m.tracked = false
  m.trackedId = NaN
  m.eventType = ''
  m.seq = NaN
  m.stamped = false
  m.payload = undefined
  if (m.id < 0) return true
  if (msg.error !== undefined) {
    m.kind = 'error'
    m.payload = msg.error
    return true
  }
  const r = msg.result
  if (!r) return true
  if (r.type === 'started') m.kind = 'started'
  else if (r.type === 'stopped') m.kind = 'stopped'
  else if (r.type === 'data') {
    m.kind = 'data'
    m.payload = r.data
    // Tracked: result.id is the event id and result.data is { id, data }.
    let e: EventLike | undefined
    if (r.id !== undefined) {
      m.tracked = true
      m.trackedId = Number(r.id)
      e = (r.data as { data?: EventLike } | undefined)?.data
    } else e = r.data as EventLike | undefined
    if (e && typeof e === 'object') {
      if (typeof e.type === 'string') m.eventType = e.type
      if (e.type === 'reset' && typeof e.seq === 'number') m.seq = e.seq
      if (e.type === MESSAGE_CREATED && typeof e.message?.body === 'string' && e.message.body) stampFromBody(e.message.body, m)
    }
  }
  return true
}

/** The original, lenient reading of a body stamp: three colons, Number() of the parts. */
function stampFromBody(body: string, m: ServerMsg): void {
  const a = body.indexOf(':')
  const b = body.indexOf(':', a + 1)
  const c = body.indexOf(':', b + 1)
  if (a > 0 && b > a && c > b) {
    m.stamped = true
    m.step = Number(body.slice(0, a))
    m.intendedNs = Number(body.slice(a + 1, b))
    m.senderNode = Number(body.slice(b + 1, c))
  }
}
