/**
 * CPU profiles of the load window only: nodes started with
 * `--inspect=127.0.0.1:0`, and the V8 profiler driven over the inspector's
 * WebSocket (Chrome DevTools Protocol) — started when the first step starts,
 * stopped after the last, so setup, capacity and the storm do not dilute it.
 */
import { writeFileSync } from 'node:fs'
import { WebSocket } from 'ws'

export class InspectorProfiler {
  private id = 0
  private readonly waiting = new Map<number, (r: { result?: unknown; error?: unknown }) => void>()
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString()) as { id?: number; result?: unknown; error?: unknown }
      if (m.id !== undefined) {
        this.waiting.get(m.id)?.(m)
        this.waiting.delete(m.id)
      }
    })
  }

  static async connect(url: string): Promise<InspectorProfiler> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 2 ** 31 - 1 })
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    const p = new InspectorProfiler(ws)
    await p.send('Profiler.enable')
    await p.send('Profiler.setSamplingInterval', { interval: 1000 })
    return p
  }

  private send(method: string, params: object = {}): Promise<unknown> {
    const id = ++this.id
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (r) => (r.error ? reject(new Error(JSON.stringify(r.error))) : resolve(r.result)))
      this.ws.send(JSON.stringify({ id, method, params }))
    })
  }

  /** A full collection (twice: the first may leave finalisable garbage), so RSS reads what is live. */
  async collectGarbage(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage')
    await this.send('HeapProfiler.collectGarbage')
  }

  start(): Promise<unknown> {
    return this.send('Profiler.start')
  }

  async stop(file: string): Promise<void> {
    const r = (await this.send('Profiler.stop')) as { profile: unknown }
    writeFileSync(file, JSON.stringify(r.profile))
  }

  close(): void {
    this.ws.terminate()
  }
}
