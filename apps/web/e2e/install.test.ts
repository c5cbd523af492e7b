/**
 * Installability (manifest + service worker, checked by Chromium itself
 * through CDP) and the README screenshots of the room view on a phone and on
 * a desktop, written to apps/web/public/screenshots/ by every run (the
 * manifest offers them to install dialogs too, beside a fixed `id` and a
 * "Browse rooms" shortcut).
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  PHONE,
  createRoom,
  invite,
  message,
  openRoom,
  say,
  screenshotsDir,
  signUpIn,
  useE2E,
  waitForServiceWorker,
} from './harness.ts'

const e2e = useE2E()

interface Manifest {
  name?: string
  short_name?: string
  start_url?: string
  scope?: string
  display?: string
  theme_color?: string
  background_color?: string
  icons?: { src: string; sizes: string; type?: string; purpose?: string }[]
  screenshots?: { src: string; sizes: string; form_factor?: string; label?: string }[]
  id?: string
  shortcuts?: { name: string; url: string; icons?: { src: string }[] }[]
}

/** A steady picture: no hover toolbar, no caret, fonts loaded, the newest message in view. */
async function settle(page: Page, lastText: string): Promise<void> {
  await message(page, lastText).waitFor()
  await page.mouse.move(0, 0)
  await page.evaluate(async () => {
    ;(document.activeElement as HTMLElement | null)?.blur()
    await document.fonts.ready
  })
  await message(page, lastText).scrollIntoViewIfNeeded()
}

describe('installable PWA', () => {
  it('has a complete manifest, a controlling service worker and no install blockers; screenshots', async () => {
    // The manifest, as Chromium and app stores read it.
    const res = await fetch(`${e2e.base}/manifest.webmanifest`)
    expect(res.ok).toBe(true)
    const manifest = (await res.json()) as Manifest
    expect(manifest).toMatchObject({
      name: 'Parley',
      short_name: 'Parley',
      start_url: '/',
      display: 'standalone',
      theme_color: expect.stringMatching(/^#[0-9a-f]{6}$/i),
      background_color: expect.stringMatching(/^#[0-9a-f]{6}$/i),
    })
    const icons = manifest.icons ?? []
    const has = (size: string, purpose: string) =>
      icons.some(
        (i) =>
          i.sizes.split(' ').includes(size) && (i.purpose ?? 'any').split(' ').includes(purpose),
      )
    expect(has('192x192', 'any')).toBe(true)
    expect(has('512x512', 'any')).toBe(true)
    expect(icons.some((i) => (i.purpose ?? '').split(' ').includes('maskable'))).toBe(true)
    for (const icon of icons) {
      const img = await fetch(new URL(icon.src, e2e.base))
      expect(img.ok, icon.src).toBe(true)
      expect(img.headers.get('content-type'), icon.src).toMatch(/^image\/png/)
    }
    // Screenshots for the richer install dialog, one for phones and one for
    // desktops, each the size it says (Chromium drops one that is not), and
    // not precached by the worker.
    const screenshots = manifest.screenshots ?? []
    expect(screenshots.map((s) => s.form_factor).sort()).toEqual(['narrow', 'wide'])
    for (const shot of screenshots) {
      const img = await fetch(new URL(shot.src, e2e.base))
      expect(img.ok, shot.src).toBe(true)
      expect(img.headers.get('content-type'), shot.src).toMatch(/^image\/png/)
      const png = Buffer.from(await img.arrayBuffer())
      expect(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`, shot.src).toBe(shot.sizes)
      expect(shot.label, shot.src).toBeTruthy()
    }
    const worker = await (await fetch(`${e2e.base}/sw.js`)).text()
    expect(worker).not.toContain('screenshots/')
    // A fixed identity, and the directory one step from the installed app's icon menu.
    expect(manifest.id).toBe('/')
    expect(manifest.shortcuts?.map((s) => [s.name, s.url])).toEqual([['Browse rooms', '/browse']])
    for (const icon of manifest.shortcuts!.flatMap((s) => s.icons ?? [])) {
      expect((await fetch(new URL(icon.src, e2e.base))).ok, icon.src).toBe(true)
    }

    // Two people in one room: Bob on a phone (dark theme), Alice on a desktop
    // with a real profile (Chromium does not offer installs in incognito).
    const bob = await e2e.signUp('Bob Chen', { ...PHONE, colorScheme: 'dark' })
    const { page: alice } = await e2e.newPersistentPage({
      viewport: { width: 1440, height: 900 },
      colorScheme: 'light',
    })
    const aliceName = `alice${Date.now().toString(36).slice(-6)}`
    await signUpIn(alice, aliceName, 'Alice Martin')
    const roomId = await createRoom(alice, 'design-crit', {
      topic: 'Weekly critique of in-flight work',
      private: true,
    })
    await invite(alice, bob.username)
    const b = bob.page
    await b.goto('/')
    await openRoom(b, 'design-crit')
    await b.waitForURL(`**/rooms/${roomId}`)

    await say(
      alice,
      'Morning! The **new onboarding** flow is up: https://example.com/figma/onboarding',
    )
    await say(
      alice,
      'What changed:\n- three steps instead of five\n- `darkMode` follows the system',
    )
    await message(b, 'three steps').waitFor()
    await say(b, 'Looks great — the shorter sign-up is a big win.')
    await say(b, 'One nit: the progress dots are hard to see in dark mode.')
    await message(alice, 'progress dots').waitFor()
    const liked = message(alice, 'shorter sign-up')
    await liked.hover()
    await liked.getByTestId('react-button').click()
    await alice.getByTestId('reaction-option').first().click()
    await message(b, 'shorter sign-up').getByTestId('reaction').waitFor()
    await say(alice, 'Good catch, I’ll bump their contrast before Friday.')
    await message(b, 'bump their contrast').waitFor()

    // Chromium's own install criteria, once the service worker controls the page.
    await waitForServiceWorker(alice)
    await message(alice, 'bump their contrast').waitFor()
    const cdp = await alice.context().newCDPSession(alice)
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as {
      installabilityErrors: { errorId: string }[]
    }
    expect(installabilityErrors).toEqual([])
    const { errors: manifestErrors } = (await cdp.send('Page.getAppManifest')) as {
      errors: { message: string; critical: number }[]
    }
    expect(manifestErrors).toEqual([])
    await cdp.detach()

    // The README screenshots: both people online in the member list (desktop).
    await expect
      .poll(() => alice.locator('[data-testid="member-item"][data-online="true"]').count())
      .toBe(2)
    mkdirSync(screenshotsDir, { recursive: true })
    await settle(alice, 'bump their contrast')
    await alice.screenshot({ path: path.join(screenshotsDir, 'room-desktop.png') })
    await settle(b, 'bump their contrast')
    await b.screenshot({ path: path.join(screenshotsDir, 'room-mobile.png') })
  })
})

describe('notices', () => {
  it('"works offline" shows at the top of a phone, clear of the composer, and goes away by itself', async () => {
    const { context, page } = await e2e.newPage(PHONE)
    // The service worker waits until a room is open, so the notice comes while someone could be typing.
    let releaseWorker!: () => void
    const workerHeld = new Promise<void>((resolve) => (releaseWorker = resolve))
    await context.route('**/sw.js', async (route) => {
      await workerHeld
      await route.continue()
    })
    await signUpIn(page, `notice${Date.now().toString(36).slice(-6)}`, 'Nora Field')
    await createRoom(page, 'quiet-car')
    const composer = page.getByTestId('composer')
    releaseWorker()

    const notice = page.getByTestId('offline-ready')
    await notice.waitFor()
    const [n, c] = [(await notice.boundingBox())!, (await composer.boundingBox())!]
    expect(n.y + n.height, 'the notice ends above the composer').toBeLessThan(c.y)
    expect(n.y).toBeLessThan(page.viewportSize()!.height / 4)
    expect(n.x).toBeGreaterThanOrEqual(0)
    expect(n.x + n.width).toBeLessThanOrEqual(page.viewportSize()!.width)
    await notice.waitFor({ state: 'detached', timeout: 10_000 })
    await context.close()
  })
})
