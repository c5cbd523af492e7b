/**
 * Starts the production server (apps/server/dist/main.js serving apps/web/dist)
 * on a free port and Debian's Chromium through playwright-core.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const serverEntry = path.join(root, 'apps/server/dist/main.js')
const webIndex = path.join(root, 'apps/web/dist/index.html')

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export interface E2E {
  /** http://localhost:PORT — localhost, so service workers are allowed. */
  base: string
  browser: Browser
  newUser(options?: { viewport?: { width: number; height: number }; isMobile?: boolean; colorScheme?: 'light' | 'dark' }): Promise<{ context: BrowserContext; page: Page }>
  /** A profile on disk (not incognito): what Chromium's install criteria need. */
  newPersistentUser(options?: { viewport?: { width: number; height: number } }): Promise<{ context: BrowserContext; page: Page }>
  output(): string
  stop(): Promise<void>
}

export async function startE2E(): Promise<E2E> {
  for (const f of [serverEntry, webIndex]) {
    if (!existsSync(f)) throw new Error(`${path.relative(root, f)} is missing: run \`pnpm build\` first`)
  }
  const port = await freePort()
  const base = `http://localhost:${port}`
  let output = ''
  const server: ChildProcess = spawn(process.execPath, [serverEntry], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
      SEND_RATE_LIMIT: '10000',
      PUBLIC_ORIGIN: base,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  server.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  server.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const deadline = Date.now() + 30_000
  for (;;) {
    const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false)
    if (ok) break
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
  const contexts: BrowserContext[] = []
  const profiles: string[] = []
  return {
    base,
    browser,
    async newUser({ viewport = { width: 1280, height: 800 }, isMobile = false, colorScheme = 'light' } = {}) {
      const context = await browser.newContext({ viewport, isMobile, hasTouch: isMobile, deviceScaleFactor: isMobile ? 2 : 1, colorScheme })
      contexts.push(context)
      const page = await context.newPage()
      page.on('pageerror', (e) => (output += `[pageerror] ${e.message}\n`))
      return { context, page }
    },
    async newPersistentUser({ viewport = { width: 1440, height: 900 } } = {}) {
      const dir = mkdtempSync(path.join(tmpdir(), 'parley-e2e-'))
      profiles.push(dir)
      const context = await chromium.launchPersistentContext(dir, { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, viewport })
      contexts.push(context)
      const page = context.pages()[0] ?? (await context.newPage())
      return { context, page }
    },
    output: () => output,
    async stop() {
      for (const c of contexts) await c.close().catch(() => {})
      await browser.close().catch(() => {})
      for (const dir of profiles) rmSync(dir, { recursive: true, force: true })
      server.kill('SIGTERM')
      await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)))
    },
  }
}

/** Signs a new user up through the UI; lands on the app. */
export async function signUp(page: Page, base: string, username: string, displayName: string): Promise<void> {
  await page.goto(`${base}/signup`)
  await page.getByTestId('auth-username').fill(username)
  await page.getByTestId('auth-display-name').fill(displayName)
  await page.getByTestId('auth-password').fill('correct horse battery')
  await page.getByTestId('auth-submit').click()
  await page.waitForURL((url) => !/\/sign(up|in)/.test(url.pathname))
}

/** Types a message in the composer and sends it with Enter. */
export async function say(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer').fill(text)
  await page.getByTestId('composer').press('Enter')
}

/** Waits until the page's service worker controls it (needed before going offline). */
export async function waitForServiceWorker(page: Page): Promise<void> {
  await page.waitForFunction(() => navigator.serviceWorker?.controller !== null && navigator.serviceWorker?.controller !== undefined, undefined, { timeout: 20_000 })
}
