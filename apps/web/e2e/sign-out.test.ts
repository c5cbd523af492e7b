/**
 * Signing out: with messages still waiting in the outbox it asks first (they
 * are deleted with the rest of the device's data), and Cancel keeps them;
 * signed out offline, the session still ends on the server once it can be
 * reached (its cookie stayed in the browser and would sign the user back in).
 */
import { describe, expect, it } from 'vitest'
import {
  bannerState,
  createRoom,
  message,
  pendingCount,
  query,
  signUpIn,
  storedBodies,
  useE2E,
} from './harness.ts'

const e2e = useE2E()

describe('sign-out', () => {
  it('with a message waiting offline, asks first; Cancel keeps it, and it is sent once online', async () => {
    const alice = await e2e.signUp('Alice Martin')
    const page = alice.page
    const roomId = await createRoom(page, 'commute')
    const waiting = message(page, 'Written on the train')

    await alice.context.setOffline(true)
    try {
      await expect.poll(() => bannerState(page)).toBe('offline')
      const composer = page.getByTestId('composer')
      await composer.fill('Written on the train')
      await composer.press('Enter')
      await expect.poll(() => waiting.getAttribute('data-pending')).toBe('true')

      await page.getByTestId('sign-out').click()
      const dialog = page.getByTestId('confirm-dialog')
      await dialog.waitFor()
      expect(await dialog.innerText()).toContain(
        "1 message hasn't been sent yet. Signing out deletes it from this device.",
      )
      await dialog.getByRole('button', { name: 'Cancel' }).click()
      await dialog.waitFor({ state: 'detached' })

      // Still signed in, the message still waiting.
      expect(new URL(page.url()).pathname).toBe(`/rooms/${roomId}`)
      expect(await waiting.getAttribute('data-pending')).toBe('true')
    } finally {
      await alice.context.setOffline(false)
    }

    await expect
      .poll(() => pendingCount(page), { timeout: 20_000 })
      .toBe(0)
    expect(await storedBodies(page, roomId)).toEqual(['Written on the train'])
  })
})

describe('sign-out offline', () => {
  it('still ends the session: back online, a reload shows the sign-in form and the old cookie is refused', async () => {
    const bob = await e2e.signUp('Bob Chen')
    const page = bob.page
    const cookies = await bob.context.cookies()

    await bob.context.setOffline(true)
    try {
      await expect.poll(() => bannerState(page)).toBe('offline')
      await page.getByTestId('sign-out').click()
      await page.waitForURL((url) => url.pathname === '/signin')
      await page.getByTestId('auth-username').waitFor()
    } finally {
      await bob.context.setOffline(false)
    }

    await page.reload()
    await page.getByTestId('auth-username').waitFor()
    expect(new URL(page.url()).pathname).toBe('/signin')
    expect(await page.getByTestId('room-list').count()).toBe(0)

    // The session the cookie named is over on the server, not just forgotten here.
    const other = await e2e.newPage()
    await other.context.addCookies(cookies)
    await other.page.goto('/signin')
    expect(await query(other.page, 'auth.me')).toBeNull()
  })
})

describe('another tab', () => {
  it('counts what another tab has waiting offline before signing out', async () => {
    const alice = await e2e.signUp('Alice Martin')
    const roomId = await createRoom(alice.page, 'two-tabs')
    const tab = await alice.context.newPage()
    await tab.goto(`/rooms/${roomId}`)
    await tab.getByTestId('composer').waitFor()

    await alice.context.setOffline(true)
    try {
      await expect.poll(() => bannerState(tab)).toBe('offline')
      await tab.getByTestId('composer').fill('Written in the other tab')
      await tab.getByTestId('composer').press('Enter')
      await expect.poll(() => message(tab, 'Written in the other tab').getAttribute('data-pending')).toBe('true')

      // This tab has nothing of its own waiting; the other tab's message is on this device all the same.
      await alice.page.getByTestId('sign-out').click()
      const dialog = alice.page.getByTestId('confirm-dialog')
      await dialog.waitFor()
      expect(await dialog.innerText()).toContain("1 message hasn't been sent yet.")
      await dialog.getByRole('button', { name: 'Cancel' }).click()
    } finally {
      await alice.context.setOffline(false)
    }
  })

  it('signing out and someone else in there, this tab follows: it shows the new user, not the old one or a sign-in form', async () => {
    const alice = await e2e.signUp('Alice Martin')
    await createRoom(alice.page, 'alice-only')
    const tab = await alice.context.newPage()
    await tab.goto('/')
    await tab.getByTestId('room-list').waitFor({ state: 'attached' })

    await tab.getByTestId('sign-out').click()
    await tab.waitForURL((url) => url.pathname === '/signin')
    await signUpIn(tab, `bea${Date.now().toString(36).slice(-6)}`, 'Bea Ortiz')

    const me = alice.page.locator('.me strong')
    await expect.poll(() => me.innerText().catch(() => ''), { timeout: 15_000 }).toBe('Bea Ortiz')
    // Nothing of Alice's is left on it.
    expect(await alice.page.getByTestId('room-list').innerText()).not.toContain('alice-only')
  })
})
