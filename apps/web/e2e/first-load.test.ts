/**
 * What a first visit costs on the wire: the app's code arrives as the
 * build's compressed copies (apps/web/scripts/precompress.mjs), as Chromium
 * itself reports it.
 */
import type { Response } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { UI_TIMEOUT, useE2E } from './harness.ts'

const e2e = useE2E()

describe('first load', () => {
  it("sends the app's scripts and styles compressed, less than half their size", async () => {
    const { context, page } = await e2e.newPage()
    const responses: Response[] = []
    page.on('response', (r) => void responses.push(r))

    await page.goto('/signin')
    await page.getByTestId('auth-submit').waitFor({ timeout: UI_TIMEOUT })
    await page.waitForLoadState('networkidle')

    const assets = responses.filter((r) => ['script', 'stylesheet'].includes(r.request().resourceType()) && new URL(r.url()).pathname.startsWith('/assets/'))
    expect(assets.length).toBeGreaterThan(2)
    // Chromium's own count: the body's bytes as they came over the wire, and decoded.
    const code = await Promise.all(
      assets.map(async (r) => ({
        url: r.url(),
        encoding: await r.headerValue('content-encoding'),
        encoded: (await r.request().sizes()).responseBodySize,
        decoded: (await r.body()).length,
      })),
    )
    const uncompressed = code.filter((r) => r.decoded >= 1024 && !r.encoding)
    expect(uncompressed.map((r) => r.url)).toEqual([])
    const encoded = code.reduce((n, r) => n + r.encoded, 0)
    const decoded = code.reduce((n, r) => n + r.decoded, 0)
    console.log(`first load: ${code.length} scripts and styles, ${(encoded / 1024).toFixed(1)} KiB on the wire for ${(decoded / 1024).toFixed(1)} KiB of code (${[...new Set(code.map((r) => r.encoding ?? 'identity'))].join(', ')})`)
    expect(encoded).toBeLessThan(decoded / 2)
    await context.close()
  })
})
