import { createReadStream, type Stats } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import { acceptedEncodings } from './content-coding.ts'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
}

/** Text types the build writes precompressed copies of (apps/web/scripts/precompress.mjs). */
const COMPRESSED_TYPES = new Set(['.html', '.js', '.mjs', '.css', '.json', '.webmanifest', '.svg', '.txt'])
const VARIANTS = [
  { encoding: 'br', suffix: '.br' },
  { encoding: 'gzip', suffix: '.gz' },
] as const

/** A validator for If-None-Match: changes with the file, and differs between a file's codings. */
const etagOf = (info: Stats, encoding: string | null) => `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}${encoding ? `-${encoding}` : ''}"`

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((t) => {
    const tag = t.trim()
    return tag === '*' || tag.replace(/^W\//, '') === etag
  })
}

/**
 * Serves the built PWA with SPA fallback. Hashed assets are cached forever;
 * index.html and the service worker are revalidated every time (an ETag makes
 * that a 304), so a deploy is picked up at once. Text files go out as the
 * build's Brotli or gzip copy when the browser accepts one — about a third of
 * the bytes for the app's code — with no compression work per request.
 */
export function createStaticHandler(root: string) {
  const base = path.resolve(root)

  const statFile = (file: string) => stat(file).then((info) => (info.isFile() ? info : null), () => null)

  async function fileAt(urlPath: string): Promise<{ file: string; info: Stats } | null> {
    let decoded: string
    try {
      decoded = decodeURIComponent(urlPath)
    } catch {
      return null
    }
    const file = path.resolve(base, '.' + path.posix.normalize('/' + decoded))
    if (file !== base && !file.startsWith(base + path.sep)) return null
    const info = await statFile(file)
    return info ? { file, info } : null
  }

  /** The build's compressed copy of a text file that the request accepts, best first. */
  async function variantOf(file: string, req: IncomingMessage): Promise<{ file: string; info: Stats; encoding: string } | null> {
    const accepted = acceptedEncodings(req.headers['accept-encoding'])
    for (const { encoding, suffix } of VARIANTS) {
      const info = accepted.has(encoding) ? await statFile(file + suffix) : null
      if (info) return { file: file + suffix, info, encoding }
    }
    return null
  }

  return async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    const urlPath = new URL(req.url ?? '/', 'http://x').pathname
    // SPA fallback: unknown paths without a file extension get the app shell.
    const found = (await fileAt(urlPath)) ?? (path.extname(urlPath) ? null : await fileAt('/index.html'))
    if (!found) return false
    const { file } = found
    const name = path.basename(file)
    const ext = path.extname(file)
    const immutable = file.includes(`${path.sep}assets${path.sep}`)
    const compressible = COMPRESSED_TYPES.has(ext)
    const variant = compressible ? await variantOf(file, req) : null
    const served = variant ?? { ...found, encoding: null }
    res.setHeader('Content-Type', TYPES[ext] ?? 'application/octet-stream')
    res.setHeader(
      'Cache-Control',
      immutable ? 'public, max-age=31536000, immutable' : name === 'index.html' || name.startsWith('sw') || name.startsWith('workbox') ? 'no-cache' : 'public, max-age=3600',
    )
    if (compressible) res.setHeader('Vary', 'Accept-Encoding')
    const etag = etagOf(served.info, served.encoding)
    res.setHeader('ETag', etag)
    if (matchesEtag(req.headers['if-none-match'], etag)) {
      res.statusCode = 304
      return res.end(), true
    }
    res.statusCode = 200
    if (served.encoding) res.setHeader('Content-Encoding', served.encoding)
    res.setHeader('Content-Length', served.info.size)
    if (req.method === 'HEAD' || served.info.size === 0) return res.end(), true
    // Exactly the bytes announced, whatever a deploy does to the file meanwhile.
    // Rewritten in place and longer, read to its end it sent more: on a
    // kept-alive connection the client read the rest as the next response (a
    // parse error). Shorter, or removed mid-read: the response is cut off, not
    // left waiting for bytes that will never come, and never ends the process.
    const reading = createReadStream(served.file, { end: served.info.size - 1 })
    reading
      .on('error', () => res.destroy())
      .on('end', () => {
        if (reading.bytesRead < served.info.size) res.destroy()
      })
      .pipe(res)
    return true
  }
}
