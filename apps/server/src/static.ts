import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'

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

/**
 * Serves the built PWA with SPA fallback. Hashed assets are cached forever;
 * index.html and the service worker never, so a deploy is picked up at once.
 */
export function createStaticHandler(root: string) {
  const base = path.resolve(root)

  async function fileAt(urlPath: string): Promise<string | null> {
    let decoded: string
    try {
      decoded = decodeURIComponent(urlPath)
    } catch {
      return null
    }
    const file = path.resolve(base, '.' + path.posix.normalize('/' + decoded))
    if (file !== base && !file.startsWith(base + path.sep)) return null
    const info = await stat(file).catch(() => null)
    return info?.isFile() ? file : null
  }

  return async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    const urlPath = new URL(req.url ?? '/', 'http://x').pathname
    let file = await fileAt(urlPath)
    // SPA fallback: unknown paths without a file extension get the app shell.
    if (!file && !path.extname(urlPath)) file = await fileAt('/index.html')
    if (!file) return false
    const name = path.basename(file)
    const immutable = file.includes(`${path.sep}assets${path.sep}`)
    res.statusCode = 200
    res.setHeader('Content-Type', TYPES[path.extname(file)] ?? 'application/octet-stream')
    res.setHeader(
      'Cache-Control',
      immutable ? 'public, max-age=31536000, immutable' : name === 'index.html' || name.startsWith('sw') || name.startsWith('workbox') ? 'no-cache' : 'public, max-age=3600',
    )
    if (req.method === 'HEAD') return res.end(), true
    createReadStream(file).pipe(res)
    return true
  }
}
