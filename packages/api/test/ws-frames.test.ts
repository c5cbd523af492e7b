import { describe, expect, it } from 'vitest'
import * as ws from 'ws'
import { textFrame } from '../src/live/ws-streams.ts'

// ws's frame parser; @types/ws does not declare it.
interface FrameReceiver {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void
  on(event: 'error', listener: (err: Error) => void): void
  write(chunk: Buffer): void
}
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean }) => FrameReceiver }

/** What a WebSocket client makes of these bytes: ws's own frame parser. */
function receive(bytes: Buffer): string[] {
  const receiver = new Receiver({ isServer: false })
  const messages: string[] = []
  receiver.on('message', (data, isBinary) => {
    expect(isBinary).toBe(false)
    messages.push(data.toString('utf8'))
  })
  receiver.on('error', (err) => {
    throw err
  })
  receiver.write(bytes)
  return messages
}

describe('room-stream data frames', () => {
  it('are the text frames ws.send would write, at every length encoding (7-, 16- and 64-bit)', () => {
    const prefix = Buffer.from('{"id":7,"result":{"type":"data",')
    // Payload lengths on both sides of 125/126 and 65535/65536, with multi-byte characters.
    for (const total of [prefix.length, 125, 126, 127, 65_535, 65_536, 200_000]) {
      const need = total - prefix.length
      const accents = Math.floor(need / 4) // 2 bytes each: multi-byte text at every length
      const part = Buffer.from('é'.repeat(accents) + 'x'.repeat(need - 2 * accents))
      const frame = textFrame(prefix, part)
      const payload = prefix.length + part.length
      expect(frame.length - payload).toBe(payload < 126 ? 2 : payload < 65_536 ? 4 : 10)
      expect(receive(frame)).toEqual([prefix.toString() + part.toString()])
    }
  })

  it('leave one socket in order when several are written back to back', () => {
    const frames = ['a', 'b'.repeat(300), 'c'.repeat(70_000)].map((s) => textFrame(Buffer.from('{"id":1,'), Buffer.from(s)))
    expect(receive(Buffer.concat(frames)).map((m) => m.length)).toEqual([9, 308, 70_008])
  })
})
