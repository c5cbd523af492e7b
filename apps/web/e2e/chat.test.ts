import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { say, signUp, startE2E, waitForServiceWorker, type E2E } from './harness.ts'

const screenshots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/screenshots')

let e2e: E2E
let alice: Page
let bob: Page
let roomUrl: string
const tag = Date.now().toString(36).slice(-5)
const names = { alice: `alice${tag}`, bob: `bob${tag}` }

beforeAll(async () => {
  e2e = await startE2E()
  alice = (await e2e.newUser()).page
  bob = (await e2e.newUser({ viewport: { width: 390, height: 844 }, isMobile: true, colorScheme: 'dark' })).page
})
afterAll(async () => {
  await e2e?.stop()
})

const message = (page: Page, text: string) => page.getByTestId('message-item').filter({ hasText: text })

describe('two people chatting in the PWA', () => {
  it('create, invite, talk live, edit, delete, react, type, and unread badges', async () => {
    await signUp(alice, e2e.base, names.alice, 'Alice Martin')
    await signUp(bob, e2e.base, names.bob, 'Bob Chen')

    await alice.getByTestId('create-room').click()
    await alice.getByTestId('room-name-input').fill('design-crit')
    await alice.getByTestId('room-topic-input').fill('Weekly critique of in-flight work')
    await alice.getByTestId('visibility-private').check()
    await alice.getByTestId('create-room-submit').click()
    await alice.waitForURL(/\/rooms\//)
    roomUrl = alice.url()

    await alice.getByTestId('invite-button').click()
    await alice.getByTestId('invite-username').fill(names.bob)
    await alice.getByTestId('invite-submit').click()
    // The invite reaches Bob live (room.added), without a reload.
    await bob.goto(e2e.base + '/')
    await bob.getByTestId('room-list-item').filter({ hasText: 'design-crit' }).click()
    await bob.getByTestId('composer').waitFor()

    await say(alice, 'Morning! Here is the **new onboarding** flow: https://example.com/figma')
    await say(alice, 'Main points:\n- fewer steps\n- `darkMode` by default')
    await message(bob, 'fewer steps').waitFor()
    const rendered = message(bob, 'Morning!').getByTestId('message-body')
    await expect(rendered.locator('strong').innerText()).resolves.toBe('new onboarding')
    const link = rendered.locator('a')
    expect(await link.getAttribute('target')).toBe('_blank')
    expect(await link.getAttribute('rel')).toContain('noopener')

    // Bob types: Alice sees it; then he sends.
    await bob.getByTestId('composer').pressSequentially('Looks gr', { delay: 30 })
    await expect(alice.getByTestId('typing-indicator').innerText({ timeout: 10_000 })).resolves.toContain('Bob')
    await bob.getByTestId('composer').fill('Looks great — love the shorter signup')
    await bob.getByTestId('composer').press('Enter')
    await message(alice, 'shorter signup').waitFor()

    // Alice reacts to Bob's message; Bob sees the reaction.
    const bobsMessage = message(alice, 'shorter signup')
    await bobsMessage.hover()
    await bobsMessage.getByTestId('react-button').click()
    await alice.getByTestId('reaction-option').first().click()
    await message(bob, 'shorter signup').getByTestId('reaction').waitFor()
    expect(await message(bob, 'shorter signup').getByTestId('reaction').innerText()).toContain('1')

    // Alice edits her message; Bob sees the new text.
    const first = message(alice, 'Morning!')
    await first.hover()
    await first.getByTestId('edit-button').click()
    await alice.getByTestId('edit-input').fill('Morning all! Here is the **new onboarding** flow: https://example.com/figma')
    await alice.getByTestId('edit-input').press('Enter')
    await message(bob, 'Morning all!').waitFor()

    // Alice deletes a message; Bob sees the tombstone.
    await say(alice, 'oops wrong room')
    await message(bob, 'oops wrong room').waitFor()
    alice.once('dialog', (d) => void d.accept())
    const oops = message(alice, 'oops wrong room')
    await oops.hover()
    await oops.getByTestId('delete-button').click()
    await bob.getByTestId('message-deleted').waitFor()
    expect(await message(bob, 'oops wrong room').count()).toBe(0)

    // Bob is elsewhere when Alice writes: a badge appears, and clears when he opens the room.
    await bob.getByLabel('Back to rooms').click()
    await say(alice, 'Bob, can you check the copy on step 3?')
    const badge = bob.getByTestId('room-list-item').filter({ hasText: 'design-crit' }).getByTestId('unread-badge')
    await badge.waitFor()
    expect(await badge.innerText()).toBe('1')
    await bob.getByTestId('room-list-item').filter({ hasText: 'design-crit' }).click()
    await message(bob, 'step 3').waitFor()
    await bob.getByLabel('Back to rooms').click()
    await bob.getByTestId('room-list-item').filter({ hasText: 'design-crit' }).waitFor()
    await expect.poll(() => badge.count(), { timeout: 10_000 }).toBe(0)
  })

  it('is installable, and looks right on a phone and on a desktop', async () => {
    const manifest = (await (await fetch(`${e2e.base}/manifest.webmanifest`)).json()) as Record<string, unknown> & { icons: { sizes: string; purpose?: string }[] }
    expect(manifest).toMatchObject({ name: expect.stringContaining('Parley'), short_name: expect.any(String), display: 'standalone', start_url: '/', theme_color: expect.any(String), background_color: expect.any(String) })
    expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']))
    expect(manifest.icons.some((i) => i.purpose?.includes('maskable'))).toBe(true)

    // Install criteria need a real profile (not incognito): Alice signs in there too.
    const { page: installed } = await e2e.newPersistentUser()
    await installed.goto(`${e2e.base}/signin`)
    await installed.getByTestId('auth-username').fill(names.alice)
    await installed.getByTestId('auth-password').fill('correct horse battery')
    await installed.getByTestId('auth-submit').click()
    await installed.waitForURL((url) => !/\/sign(up|in)/.test(url.pathname))
    await installed.goto(roomUrl)
    await message(installed, 'step 3').waitFor()
    await installed.evaluate(() => navigator.serviceWorker.ready)
    await installed.reload()
    await waitForServiceWorker(installed)
    const cdp = await installed.context().newCDPSession(installed)
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: unknown[] }
    expect(installabilityErrors).toEqual([])

    mkdirSync(screenshots, { recursive: true })
    await message(installed, 'step 3').waitFor()
    await installed.screenshot({ path: path.join(screenshots, 'room-desktop.png') })
    await bob.goto(roomUrl)
    await message(bob, 'step 3').waitFor()
    await bob.screenshot({ path: path.join(screenshots, 'room-mobile.png') })
  })

  it('opens offline from the service worker with the saved rooms and messages, and says so', async () => {
    await alice.goto(roomUrl)
    await message(alice, 'step 3').waitFor()
    await waitForServiceWorker(alice)
    await alice.context().setOffline(true)
    try {
      await alice.reload()
      await expect(alice.getByTestId('connection-banner').innerText({ timeout: 15_000 })).resolves.toMatch(/offline/i)
      await message(alice, 'step 3').waitFor()
      await message(alice, 'shorter signup').waitFor()
      expect(await alice.getByTestId('room-list-item').filter({ hasText: 'design-crit' }).count()).toBe(1)
    } finally {
      await alice.context().setOffline(false)
    }
  })

  it('keeps messages written offline in an outbox across a reload and delivers them once, in order', async () => {
    await alice.goto(roomUrl)
    await message(alice, 'step 3').waitFor()
    await waitForServiceWorker(alice)
    await bob.goto(roomUrl)
    await message(bob, 'step 3').waitFor()

    await alice.context().setOffline(true)
    await alice.reload()
    await alice.getByTestId('connection-banner').waitFor({ timeout: 15_000 })
    await say(alice, 'offline one')
    await say(alice, 'offline two')
    const pending = alice.locator('[data-testid=message-item][data-pending=true]')
    await expect.poll(() => pending.count()).toBe(2)
    await alice.reload()
    await message(alice, 'offline two').waitFor({ timeout: 15_000 })
    await expect.poll(() => pending.count()).toBe(2)

    await alice.context().setOffline(false)
    await expect.poll(() => pending.count(), { timeout: 20_000 }).toBe(0)
    await message(bob, 'offline two').waitFor({ timeout: 20_000 })
    const bodies = await bob.getByTestId('message-body').allInnerTexts()
    expect(bodies.filter((b) => b.includes('offline'))).toEqual(['offline one', 'offline two'])

    // The server stored each once, in order.
    const roomId = roomUrl.split('/').pop()!
    const stored = await alice.evaluate(async (id) => {
      const res = await fetch(`/trpc/messages.list?input=${encodeURIComponent(JSON.stringify({ roomId: id }))}`)
      return ((await res.json()) as { result: { data: { messages: { body: string }[] } } }).result.data.messages.map((m) => m.body)
    }, roomId)
    expect(stored.filter((b) => b.startsWith('offline'))).toEqual(['offline one', 'offline two'])
  })
})
