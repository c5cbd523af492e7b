import { describe, expect, test } from 'vitest'
import { newServerMsg, parseMessage, scanData, type ServerMsg } from '../src/frames.ts'

const hex = (n: number) => n.toString(16).padStart(24, '0')

function messageCreated(seq: number, body: unknown, extra: Record<string, unknown> = {}) {
  return {
    type: 'message.created',
    roomId: hex(1),
    seq,
    message: { id: hex(99), roomId: hex(1), seq, author: { id: hex(7), username: 'b_1', displayName: 'Ünïcødé "quoted" \\ x"body":"9:9:9:' }, body, createdAt: '2026-11-22T00:00:00.000Z', editedAt: null, deleted: false, clientId: 'w0-1', reactions: [] },
    ...extra,
  }
}

/** tRPC's adapter: result is {type, data} with the tracked id added last. */
const trpcFrame = (subId: number, seq: number | string, event: unknown) => JSON.stringify({ id: subId, result: { type: 'data', data: { id: String(seq), data: event }, id: String(seq) } })
/** The hand-built frame: {type, id, data}. */
const serverFrame = (subId: number, seq: number | string, event: unknown) => JSON.stringify({ id: subId, result: { type: 'data', id: String(seq), data: { id: String(seq), data: event } } })

const fields = (m: ServerMsg) => {
  const { payload: _payload, ...rest } = m
  return m.stamped ? rest : { ...rest, step: 0, intendedNs: 0, senderNode: 0 }
}

function scan(text: string, pad = false): ServerMsg | null {
  const m = newServerMsg()
  // Embedded in a larger buffer, with bytes around it that would match if read past the end.
  const before = pad ? Buffer.from('xx"body":"1:2:3:') : Buffer.alloc(0)
  const after = pad ? Buffer.from('"body":"9:9:9:}}},"id":"5"}}') : Buffer.alloc(0)
  const b = Buffer.concat([before, Buffer.from(text), after])
  return scanData(b, before.length, b.length - after.length, m) ? m : null
}

function parse(text: string): ServerMsg {
  const m = newServerMsg()
  expect(parseMessage(text, m)).toBe(true)
  return m
}

/** Whatever the fast path accepts, it must read exactly as JSON.parse does. */
function agree(text: string): ServerMsg {
  const fast = scan(text)
  expect(fast, text).not.toBeNull()
  const ref = parse(text)
  expect(fields(fast!)).toEqual(fields(ref))
  expect(fields(scan(text, true)!)).toEqual(fields(ref))
  return ref
}

describe('scanData: the fast path', () => {
  test.each([
    ['tRPC key order', trpcFrame],
    ['hand-built key order', serverFrame],
  ])('%s: stamped message.created', (_, frame) => {
    const m = agree(frame(7, 123, messageCreated(123, '2:8512345678901:1:xxxxxxxx')))
    expect(m).toMatchObject({ id: 7, kind: 'data', tracked: true, trackedId: 123, eventType: 'message.created', stamped: true, step: 2, intendedNs: 8512345678901, senderNode: 1 })
  })

  test.each([
    ['negative step (storm sender)', '-1:8512345678901:0:x', { step: -1, senderNode: 0 }],
    ['intended time above 2^53', '3:12345678901234567890:1:', { intendedNs: Number('12345678901234567890') }],
    ['a stamp only', '0:1:2:', { step: 0, intendedNs: 1, senderNode: 2 }],
  ])('%s', (_, body, want) => {
    for (const frame of [trpcFrame, serverFrame]) expect(agree(frame(1, 5, messageCreated(5, body)))).toMatchObject({ stamped: true, ...want })
  })

  test('other tracked events: the id and the type, no stamp', () => {
    const ev = { type: 'member.left', roomId: hex(1), seq: 9, userId: hex(2), reason: 'left' }
    for (const frame of [trpcFrame, serverFrame]) expect(agree(frame(3, 9, ev))).toMatchObject({ tracked: true, trackedId: 9, eventType: 'member.left', stamped: false })
  })

  test('message.created without a usable stamp or body: tracked, untimed', () => {
    for (const body of ['hello', '1:2:3', 'a:b:c:']) {
      // Not the strict grammar: the fast path declines; the reference reading decides.
      expect(scan(trpcFrame(1, 4, messageCreated(4, body)))).toBeNull()
    }
    expect(parse(trpcFrame(1, 4, messageCreated(4, 'hello')))).toMatchObject({ tracked: true, trackedId: 4, stamped: false })
    expect(parse(trpcFrame(1, 4, messageCreated(4, 'a:b:c:')))).toMatchObject({ stamped: true, step: NaN })
    const { message, ...noMessage } = messageCreated(4, '')
    void message
    expect(agree(trpcFrame(1, 4, noMessage))).toMatchObject({ tracked: true, stamped: false })
  })

  test('an escape inside the stamp: declined, and JSON.parse reads it', () => {
    const text = trpcFrame(1, 4, messageCreated(4, '1:2:3:')).replace('"body":"1:', '"body":"\\u0031:')
    expect(scan(text)).toBeNull()
    expect(parse(text)).toMatchObject({ stamped: true, step: 1, intendedNs: 2, senderNode: 3 })
  })

  test('started and stopped', () => {
    expect(agree('{"id":12,"result":{"type":"started"}}')).toMatchObject({ id: 12, kind: 'started' })
    expect(agree('{"id":12,"result":{"type":"stopped"}}')).toMatchObject({ id: 12, kind: 'stopped' })
  })
})

describe('scanData declines, parseMessage reads', () => {
  test('unexpected key order', () => {
    const ev = messageCreated(8, '1:2:3:')
    const texts = [
      JSON.stringify({ result: { type: 'data', data: { id: '8', data: ev }, id: '8' }, id: 2 }),
      JSON.stringify({ id: 2, result: { data: { id: '8', data: ev }, type: 'data', id: '8' } }),
      JSON.stringify({ id: 2, result: { type: 'data', data: { data: ev, id: '8' }, id: '8' } }),
      JSON.stringify({ id: 2, jsonrpc: '2.0', result: { type: 'data', data: { id: '8', data: ev }, id: '8' } }),
      trpcFrame(2, 8, { seq: 8, type: ev.type, roomId: ev.roomId, message: ev.message }), // the event's type not first
      JSON.stringify({ id: 2, result: { type: 'data', data: { id: '8', data: ev }, id: '8' } }, null, 1), // whitespace
    ]
    for (const text of texts) {
      expect(scan(text), text).toBeNull()
      expect(parse(text)).toMatchObject({ id: 2, kind: 'data', tracked: true, trackedId: 8, eventType: 'message.created', stamped: true, step: 1, intendedNs: 2, senderNode: 3 })
    }
  })

  test('typing: untracked, no id', () => {
    const ev = { type: 'typing', roomId: hex(1), user: { id: hex(2), username: 'u', displayName: 'U' } }
    for (const text of [JSON.stringify({ id: 4, result: { type: 'data', data: ev } }), `{"id":4,"result":{"type":"data","data":${JSON.stringify(ev)}}}`]) {
      expect(scan(text)).toBeNull()
      expect(parse(text)).toMatchObject({ id: 4, kind: 'data', tracked: false, trackedId: NaN, eventType: 'typing', stamped: false })
    }
  })

  test('reset: the event seq', () => {
    const text = trpcFrame(5, 40, { type: 'reset', roomId: hex(1), seq: 40, epoch: 'e1' })
    expect(scan(text)).toBeNull()
    expect(parse(text)).toMatchObject({ id: 5, kind: 'data', tracked: true, trackedId: 40, eventType: 'reset', seq: 40 })
  })

  test('errors', () => {
    const error = { message: 'Room not found', code: -32004, data: { code: 'NOT_FOUND', httpStatus: 404 } }
    const text = JSON.stringify({ id: 6, error })
    expect(scan(text)).toBeNull()
    expect(parse(text)).toMatchObject({ id: 6, kind: 'error', payload: error })
  })

  test('ids that disagree', () => {
    const ev = messageCreated(8, '1:2:3:')
    const a = JSON.stringify({ id: 2, result: { type: 'data', id: '8', data: { id: '9', data: ev } } })
    const b = JSON.stringify({ id: 2, result: { type: 'data', data: { id: '9', data: ev }, id: '8' } })
    const untracked = JSON.stringify({ id: 2, result: { type: 'data', data: { id: '8', data: ev } } }) // a value that merely looks like an envelope
    for (const text of [a, b, untracked]) expect(scan(text)).toBeNull()
    expect(parse(b)).toMatchObject({ tracked: true, trackedId: 8 })
    expect(parse(untracked)).toMatchObject({ tracked: false, eventType: '' })
  })

  test('a mutation reply (a Message) and other messages', () => {
    const message = { id: '123456789012345678901234', roomId: hex(1), seq: 3, body: '1:2:3:' }
    const text = JSON.stringify({ id: 9, result: { type: 'data', data: message } })
    expect(scan(text)).toBeNull()
    expect(parse(text)).toMatchObject({ id: 9, kind: 'data', tracked: false, payload: message })
    expect(parse('{"id":null,"method":"reconnect"}')).toMatchObject({ id: -1 })
    expect(parseMessage('PING', newServerMsg())).toBe(false)
  })

  test('truncated frames never read past the end', () => {
    const full = trpcFrame(1, 5, messageCreated(5, '1:2:3:xx'))
    for (let cut = 1; cut < full.length; cut += 7) {
      const m = newServerMsg()
      const b = Buffer.from(full)
      expect(scanData(b, 0, cut, m), `cut at ${cut}`).toBe(false)
    }
  })
})
