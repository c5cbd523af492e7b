/**
 * What a first visit costs on the wire: the app's code arrives as the
 * build's compressed copies (apps/web/scripts/precompress.mjs), as Chromium
 * itself reports it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startE2E, UI_TIMEOUT, type E2E } from './harness.ts'

let e2e: E2E

beforeAll(async () => {
  e2e = await startE2E()
})
afterAll(async () => {
  await e2e?.stop()
})

describe('first load', () => {
  it("sends the app's scripts and styles compressed, less than half their size", async () => {
    const { context, page } = await e2e.newPage()
    const cdp = await context.newCDPSession(page)
    await cdp.send('Network.enable')
    const requests = new Map<string, { url: string; type: string; encoding?: string; encoded?: number; decoded?: number }>()
    cdp.on('Network.responseReceived', (e) => {
      const headers = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), String(v)]))
      requests.set(e.requestId, { url: e.response.url, type: e.type, encoding: headers['content-encoding'] })
    })
    cdp.on('Network.dataReceived', (e) => {
      const r = requests.get(e.requestId)
      if (r) r.decoded = (r.decoded ?? 0) + e.dataLength
    })
    cdp.on('Network.loadingFinished', (e) => {
      const r = requests.get(e.requestId)
      if (r) r.encoded = e.encodedDataLength
    })

    await page.goto('/signin')
    await page.getByTestId('auth-submit').waitFor({ timeout: UI_TIMEOUT })
    await page.waitForLoadState('networkidle')

    const code = [...requests.values()].filter((r) => (r.type === 'Script' || r.type === 'Stylesheet') && new URL(r.url).pathname.startsWith('/assets/'))
    expect(code.length).toBeGreaterThan(2)
    const uncompressed = code.filter((r) => (r.decoded ?? 0) >= 1024 && !r.encoding)
    expect(uncompressed.map((r) => r.url)).toEqual([])
    const encoded = code.reduce((n, r) => n + (r.encoded ?? 0), 0)
    const decoded = code.reduce((n, r) => n + (r.decoded ?? 0), 0)
    console.log(`first load: ${code.length} scripts and styles, ${(encoded / 1024).toFixed(1)} KiB on the wire for ${(decoded / 1024).toFixed(1)} KiB of code (${[...new Set(code.map((r) => r.encoding ?? 'identity'))].join(', ')})`)
    expect(encoded).toBeLessThan(decoded / 2)
    await context.close()
  })
})
