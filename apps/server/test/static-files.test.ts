/**
 * The built PWA as a browser fetches it: the build's precompressed copies
 * (apps/web/scripts/precompress.mjs, run here on a small dist) go to clients
 * that accept them, and revalidation of the app shell costs a 304.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  appendFileSync,
  mkdtempSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './factory.ts'
import { rawRequest } from './helpers.ts'

const precompress = fileURLToPath(new URL('../../web/scripts/precompress.mjs', import.meta.url))

let dist: string
let server: TestServer
const file = (p: string) => readFileSync(path.join(dist, p))

/** A module the size and shape of a real bundle chunk (compresses ~3–4×, as they do). */
function bundleLike(): string {
  const lines: string[] = []
  for (let i = 0; i < 1500; i++) lines.push(`export function handler${i}(event){const v${i}=event.detail?.[${i % 17}]??${(i * 7919) % 1000};return render("item-${i}",v${i})}`)
  return lines.join('\n')
}

function shell(title: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>${'<link rel="modulepreload" href="/assets/chunk.js">'.repeat(40)}</head><body><div id="app"></div></body></html>`
}

const get = (p: string, headers: Record<string, string> = {}, method = 'GET') => rawRequest(server.url + p, headers, method)

/**
 * GETs a new 16 MB file `name` over `agent`, calling `rewrite` on it as the
 * first bytes arrive (a deploy while it is sent). Resolves once the response is
 * over, however it ended (`complete` says whether it was whole); a broken
 * connection rejects.
 */
function getWhileRewritten(
  name: string,
  agent: http.Agent,
  rewrite: (file: string) => void,
): Promise<{ received: number; announced: number; complete: boolean }> {
  const file = path.join(dist, name)
  writeFileSync(file, randomBytes(16 * 1024 * 1024))
  return new Promise((resolve, reject) => {
    http
      .get(`${server.url}/${name}`, { agent }, (res) => {
        let received = 0
        res.on('data', (chunk: Buffer) => {
          if (received === 0) rewrite(file)
          received += chunk.length
        })
        // A response cut off errors too: `complete` tells.
        res.on('error', () => {})
        res.on('close', () =>
          resolve({
            received,
            announced: Number(res.headers['content-length']),
            complete: res.complete,
          }),
        )
      })
      .on('error', reject)
  })
}

beforeAll(async () => {
  dist = mkdtempSync(path.join(tmpdir(), 'parley-dist-'))
  mkdirSync(path.join(dist, 'assets'))
  writeFileSync(path.join(dist, 'index.html'), shell('Parley'))
  writeFileSync(path.join(dist, 'assets', 'app-1a2b.js'), bundleLike())
  writeFileSync(path.join(dist, 'assets', 'tiny-3c4d.js'), 'console.log(1)')
  writeFileSync(path.join(dist, 'icon-192.png'), randomBytes(4096))
  execFileSync(process.execPath, [precompress, dist])
  server = await startTestServer({ WEB_DIST: dist })
})
afterAll(async () => {
  await server.stop()
  rmSync(dist, { recursive: true, force: true })
})

describe('static files', () => {
  it('go out as the Brotli copy to a browser that accepts it, a third of the bytes or less, decoding to the file', async () => {
    const res = await get('/assets/app-1a2b.js', { 'accept-encoding': 'gzip, deflate, br, zstd' })
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBe('br')
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(res.headers.vary).toBe('Accept-Encoding')
    expect(Number(res.headers['content-length'])).toBe(res.body.length)
    expect(res.body.length).toBeLessThan(file('assets/app-1a2b.js').length / 3)
    expect(brotliDecompressSync(res.body).equals(file('assets/app-1a2b.js'))).toBe(true)
  })

  it('go out gzipped where Brotli is not accepted (plain http in some browsers), and as they are where nothing is', async () => {
    for (const accept of ['gzip, deflate', 'br;q=0, gzip']) {
      const res = await get('/assets/app-1a2b.js', { 'accept-encoding': accept })
      expect(res.headers['content-encoding'], accept).toBe('gzip')
      expect(gunzipSync(res.body).equals(file('assets/app-1a2b.js')), accept).toBe(true)
    }
    for (const headers of [{}, { 'accept-encoding': 'identity' }] as Record<string, string>[]) {
      const res = await get('/assets/app-1a2b.js', headers)
      expect(res.headers['content-encoding']).toBeUndefined()
      expect(res.body.equals(file('assets/app-1a2b.js'))).toBe(true)
      expect(Number(res.headers['content-length'])).toBe(res.body.length)
    }
  })

  it('that are tiny or binary go out as they are', async () => {
    const tiny = await get('/assets/tiny-3c4d.js', { 'accept-encoding': 'br, gzip' })
    expect(tiny.headers['content-encoding']).toBeUndefined()
    expect(tiny.body.toString()).toBe('console.log(1)')
    const png = await get('/icon-192.png', { 'accept-encoding': 'br, gzip' })
    expect(png.headers['content-encoding']).toBeUndefined()
    expect(png.headers.vary).toBeUndefined()
    expect(png.body.equals(file('icon-192.png'))).toBe(true)
  })

  it('the app shell, compressed on every route, is revalidated with a 304 until it changes', async () => {
    const br = { 'accept-encoding': 'br' }
    const first = await get('/rooms/abc', br)
    expect(first.status).toBe(200)
    expect(first.headers['cache-control']).toBe('no-cache')
    expect(first.headers['content-encoding']).toBe('br')
    expect(brotliDecompressSync(first.body).toString()).toBe(shell('Parley'))
    const etag = first.headers.etag!
    expect(etag).toMatch(/^".+"$/)

    const again = await get('/', { ...br, 'if-none-match': etag })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
    // The uncompressed file is another representation: its own tag, and a cached Brotli copy does not stand for it.
    const plain = await get('/', { 'if-none-match': etag })
    expect(plain.status).toBe(200)
    expect(plain.headers.etag).not.toBe(etag)
    expect(plain.body.toString()).toBe(shell('Parley'))

    // A deploy: a new shell (and its copies) — the old tag no longer matches.
    writeFileSync(path.join(dist, 'index.html'), shell('Parley, new build'))
    execFileSync(process.execPath, [precompress, dist])
    const deployed = await get('/', { ...br, 'if-none-match': etag })
    expect(deployed.status).toBe(200)
    expect(brotliDecompressSync(deployed.body).toString()).toBe(shell('Parley, new build'))
  })

  it("hold to the length they announced while a deploy rewrites them in place: the connection's next answer is not the rest of the file", async () => {
    // One kept-alive connection for both requests, as a browser's.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      // The file grows while the server is still reading it.
      const first = await getWhileRewritten('big-5e6f.bin', agent, (file) =>
        appendFileSync(file, randomBytes(1024 * 1024)),
      )
      expect(first.complete).toBe(true)
      expect(first.received).toBe(first.announced)
      expect(first.announced).toBe(16 * 1024 * 1024)
      const next = await new Promise<number>((resolve, reject) => {
        http
          .get(server.url + '/healthz', { agent }, (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          })
          .on('error', reject)
      })
      expect(next).toBe(200)
    } finally {
      agent.destroy()
    }
  })

  it('cut a response off where a deploy shortens the file mid-read, rather than leave the client waiting for the rest', async () => {
    // Kept alive, as a browser's: nothing but the server closing it says the response ended short.
    const agent = new http.Agent({ keepAlive: true })
    try {
      // Rewritten in place, a sixteenth of the size, while the server is still reading it.
      const cut = await getWhileRewritten('big-7a8b.bin', agent, (file) =>
        writeFileSync(file, randomBytes(1024 * 1024)),
      )
      expect(cut.complete).toBe(false)
      expect(cut.received).toBeLessThan(16 * 1024 * 1024)
    } finally {
      agent.destroy()
    }
  })

  it('answer HEAD with the length of what GET would send, and no body', async () => {
    const head = await get('/assets/app-1a2b.js', { 'accept-encoding': 'br' }, 'HEAD')
    expect(head.status).toBe(200)
    expect(head.headers['content-encoding']).toBe('br')
    expect(Number(head.headers['content-length'])).toBe(readFileSync(path.join(dist, 'assets', 'app-1a2b.js.br')).length)
    expect(head.body.length).toBe(0)
  })
})
