/**
 * Chromium for the browser tests and the benchmark. Its own entry
 * (`@parley/testing/chromium`): the node-only suites neither load Playwright
 * nor need DOM types.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser, type LaunchOptions, type Page } from 'playwright-core'

/**
 * Debian's Chromium, headless, as the browser tests and the benchmark drive
 * it: no browser downloads here, and as root it needs --no-sandbox.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`No Chromium at ${chromiumPath}: install it (apt-get install chromium) or set CHROMIUM_PATH`)
  }
  return chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS, ...options })
}

/** One tRPC call over HTTP from inside the page, so it carries the page's session cookie. */
export function trpcInPage<T>(page: Page, kind: 'query' | 'mutation', path: string, input: unknown): Promise<T> {
  return page.evaluate(
    async ({ kind, path, input }) => {
      const res =
        kind === 'query'
          ? await fetch(`/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`)
          : await fetch(`/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) })
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`)
      return ((await res.json()) as { result: { data: unknown } }).result.data
    },
    { kind, path, input },
  ) as Promise<T>
}

/**
 * Makes the service worker control the page. The app registers it with
 * `registerType: 'prompt'` (no clients.claim), so the load that installed it
 * stays uncontrolled: reload once in that case.
 */
export async function waitForServiceWorker(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready
  })
  if (!(await page.evaluate(() => !!navigator.serviceWorker.controller))) await page.reload()
  await page.waitForFunction(() => !!navigator.serviceWorker.controller)
}
