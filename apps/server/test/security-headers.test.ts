/** Security headers on every kind of response, HSTS behind https, and CORS closed. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './factory.ts'

let dist: string
let plain: TestServer
let https: TestServer

beforeAll(async () => {
  dist = mkdtempSync(path.join(tmpdir(), 'parley-dist-'))
  mkdirSync(path.join(dist, 'assets'))
  writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>Parley</title>')
  writeFileSync(path.join(dist, 'assets', 'app-1234.js'), 'console.log(1)')
  writeFileSync(path.join(dist, 'manifest.webmanifest'), '{}')
  plain = await startTestServer({ WEB_DIST: dist, HTTP_MAX_BODY_BYTES: '2048' })
  https = await startTestServer({ WEB_DIST: dist, PUBLIC_ORIGIN: 'https://chat.example' })
})
afterAll(async () => {
  await plain.stop()
  await https.stop()
  rmSync(dist, { recursive: true, force: true })
})

function expectSecurityHeaders(res: Response, what: string): void {
  const csp = res.headers.get('content-security-policy') ?? ''
  expect(csp, what).toContain("default-src 'self'")
  expect(csp, what).toContain("script-src 'self'")
  expect(csp, what).toContain("frame-ancestors 'none'")
  expect(csp, what).toContain("object-src 'none'")
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff')
  expect(res.headers.get('referrer-policy'), what).toBe('strict-origin-when-cross-origin')
  expect(res.headers.get('x-frame-options'), what).toBe('DENY')
  expect(res.headers.get('x-request-id'), what).toBeTruthy()
  expect(res.headers.get('access-control-allow-origin'), what).toBeNull()
}

const requests: [string, string, RequestInit?][] = [
  ['app shell', '/'],
  ['SPA route', '/rooms/abc'],
  ['hashed asset', '/assets/app-1234.js'],
  ['manifest', '/manifest.webmanifest'],
  ['missing file', '/nope.png'],
  ['missing asset', '/assets/missing.js'],
  ['healthz', '/healthz'],
  ['readyz', '/readyz'],
  ['metrics', '/metrics'],
  ['tRPC query', '/trpc/system.info'],
  ['tRPC unknown procedure', '/trpc/nope.nope'],
  ['tRPC unauthorised', '/trpc/rooms.list'],
  ['tRPC bad input', '/trpc/auth.login', { method: 'POST', body: JSON.stringify({ username: { $ne: null }, password: 'x' }), headers: { 'content-type': 'application/json' } }],
  ['refused form post', '/trpc/auth.logout', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }],
  ['body too large', '/trpc/auth.login', { method: 'POST', body: JSON.stringify({ username: 'x', password: 'y'.repeat(4000) }), headers: { 'content-type': 'application/json' } }],
  ['preflight', '/trpc/auth.login', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } }],
]

describe('security headers', () => {
  it('are on every response: static files, SPA fallback, 404s, probes, metrics, tRPC results and errors, 415, 413', async () => {
    const statuses: Record<string, number> = {}
    for (const [what, p, init] of requests) {
      const res = await fetch(plain.url + p, init)
      await res.arrayBuffer()
      statuses[what] = res.status
      expectSecurityHeaders(res, what)
      expect(res.headers.get('strict-transport-security'), what).toBeNull()
    }
    expect(statuses).toMatchObject({ 'app shell': 200, 'hashed asset': 200, 'missing file': 404, 'missing asset': 404, 'refused form post': 415, 'body too large': 413, 'tRPC unauthorised': 401, 'tRPC bad input': 400 })
  })

  it('keep API answers and probes out of every cache: a back/forward load must not replay an old auth.me', async () => {
    for (const [what, p, init] of requests.filter(([, p]) => /^\/(trpc|healthz|readyz|metrics)/.test(p))) {
      const res = await fetch(plain.url + p, init)
      await res.arrayBuffer()
      expect(res.headers.get('cache-control'), what).toBe('no-store')
    }
  })

  it('add HSTS when PUBLIC_ORIGIN is https', async () => {
    for (const [what, p, init] of requests) {
      const res = await fetch(https.url + p, init)
      await res.arrayBuffer()
      expectSecurityHeaders(res, what)
      expect(res.headers.get('strict-transport-security'), what).toMatch(/max-age=\d{7,}/)
    }
  })
})

describe('CORS is closed', () => {
  it('no Access-Control-Allow-* header for a foreign origin, and a preflight gets nothing to allow', async () => {
    const get = await fetch(`${plain.url}/trpc/system.info`, { headers: { origin: 'https://evil.example' } })
    expect(get.headers.get('access-control-allow-origin')).toBeNull()
    expect(get.headers.get('access-control-allow-credentials')).toBeNull()
    const preflight = await fetch(`${plain.url}/trpc/messages.send`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
    expect(preflight.status).toBeGreaterThanOrEqual(400)
    for (const [name] of preflight.headers) expect(name).not.toMatch(/^access-control-/)
  })

  it('a cross-site JSON POST (which a browser could only send after a preflight) is refused anyway', async () => {
    const res = await fetch(`${plain.url}/trpc/auth.login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      body: JSON.stringify({ username: 'someone', password: 'whatever1' }),
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    // In tRPC's error shape, so a client reports it as it does any other refusal.
    expect(await res.json()).toMatchObject({ error: { message: 'Cross-site request refused', data: { code: 'FORBIDDEN', httpStatus: 403 } } })
  })

  it('a POST that is not JSON gets 415 in tRPC\'s error shape, saying what to send', async () => {
    const res = await fetch(`${plain.url}/trpc/auth.login`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ username: 'someone', password: 'whatever1' }) })
    expect(res.status).toBe(415)
    expect(await res.json()).toMatchObject({ error: { message: 'Content-Type must be application/json', data: { code: 'UNSUPPORTED_MEDIA_TYPE', httpStatus: 415 } } })
  })
})
