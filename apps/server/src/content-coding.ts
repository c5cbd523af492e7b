/**
 * Compression of what the server sends over HTTP. Static files go out as the
 * build's precompressed copies (static.ts); tRPC's query and mutation results
 * are compressed here as they leave, when they are large enough to gain.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { brotliCompress, brotliCompressSync, constants, gzip, gzipSync } from 'node:zlib'

/** The content codings an Accept-Encoding header allows (`br;q=0` refuses br). */
export function acceptedEncodings(header: string | undefined): Set<string> {
  const accepted = new Set<string>()
  for (const part of (header ?? '').split(',')) {
    const [coding = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase())
    const q = params.find((p) => p.startsWith('q='))
    if (coding && !(q && Number(q.slice(2)) === 0)) accepted.add(coding)
  }
  return accepted
}

// Brotli at 4 compresses JSON about as well as gzip -9 at a fraction of the
// CPU: the usual level for responses compressed on the fly.
const BROTLI = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }
/**
 * Up to this size a body is compressed on the event loop: 12 KiB (a page of
 * messages) takes ~0.15 ms there, while a hop to libuv's thread pool costs
 * ~0.35 ms of CPU by itself on this kind of VM. Larger bodies go to the pool
 * so the loop is never held for more than ~0.5 ms.
 */
const SYNC_MAX_BYTES = 64 * 1024

type End = (chunk?: unknown, encoding?: unknown, cb?: unknown) => ServerResponse

/**
 * Holds the body a handler writes until it ends, then sends it Brotli- or
 * gzip-compressed if the client accepts one and it is at least `minBytes`.
 * Knowing the size first matters: a small answer (a sent message's
 * acknowledgement, the PWA's most frequent call) fits in a packet either way
 * and goes out as it is. For handlers that write a whole body and end —
 * tRPC's JSON results — not for streams (tRPC's `jsonl` batches, server-sent
 * events), which pass through untouched: a stream never ends, so holding it
 * would send nothing and keep every event in memory.
 */
export function compressWhenLarge(req: IncomingMessage, res: ServerResponse, minBytes: number): void {
  if (req.headers['trpc-accept'] === 'application/jsonl') return
  const accepted = acceptedEncodings(req.headers['accept-encoding'])
  const encoding = accepted.has('br') ? 'br' : accepted.has('gzip') ? 'gzip' : null
  // Held as written (tRPC writes Uint8Arrays): Buffer.concat copies them once, at the end.
  const chunks: Uint8Array[] = []
  const write = res.write
  const end = res.end as End
  const hold = (chunk: unknown, enc: unknown) => {
    if (chunk != null) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, typeof enc === 'string' ? (enc as BufferEncoding) : 'utf8') : (chunk as Uint8Array))
  }
  res.write = ((chunk: unknown, enc?: unknown, cb?: unknown) => {
    // tRPC answers a subscription with server-sent events whatever the request accepts: its headers say so.
    if (chunks.length === 0 && /^text\/event-stream/.test(String(res.getHeader('Content-Type')))) {
      res.write = write
      res.end = end as typeof res.end
      return write.call(res, chunk, enc as BufferEncoding, cb as () => void)
    }
    hold(chunk, enc)
    const done = typeof enc === 'function' ? enc : cb
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)())
    return true
  }) as typeof res.write
  res.end = ((chunk?: unknown, enc?: unknown, cb?: unknown) => {
    if (typeof chunk !== 'function') hold(chunk, enc)
    res.write = write
    res.end = end as typeof res.end
    const body = Buffer.concat(chunks)
    const done = [chunk, enc, cb].find((a) => typeof a === 'function')
    // Set last: the handler sets a Vary of its own (tRPC: `trpc-accept, accept`).
    const vary = res.getHeader('Vary')
    if (!res.headersSent) res.setHeader('Vary', vary ? `${String(vary)}, Accept-Encoding` : 'Accept-Encoding')
    const send = (data: Buffer, coding: string | null) => {
      if (coding) res.setHeader('Content-Encoding', coding)
      if (!res.headersSent) res.setHeader('Content-Length', data.length)
      return end.call(res, data, done)
    }
    if (!encoding || body.length < minBytes || res.getHeader('Content-Encoding')) return send(body, null)
    if (body.length <= SYNC_MAX_BYTES) return send(encoding === 'br' ? brotliCompressSync(body, BROTLI) : gzipSync(body), encoding)
    const sent = (err: Error | null, out: Buffer) => void (err ? send(body, null) : send(out, encoding))
    if (encoding === 'br') brotliCompress(body, BROTLI, sent)
    else gzip(body, sent)
    return res
  }) as typeof res.end
}
