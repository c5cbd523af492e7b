/**
 * Signing out: with messages still waiting in the outbox it asks first (they
 * are deleted with the rest of the device's data), and Cancel keeps them;
 * signed out offline, the session still ends on the server once it can be
 * reached (its cookie stayed in the browser and would sign the user back in).
 * A session that ends by itself (expired, or ended elsewhere while the device
 * was offline) keeps what was waiting for the same user's next sign-in here,
 * and deletes it when someone else signs in.
 */
import { describe, expect, it } from 'vitest'
import {
  bannerState,
  createRoom,
  message,
  mutate,
  PASSWORD,
  pendingCount,
  query,
  say,
  signIn,
  signUpIn,
  storedBodies,
  useE2E,
  waitForSavedRoom,
  waitForServiceWorker,
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

    await expect.poll(() => pendingCount(page), { timeout: 20_000 }).toBe(0)
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

  it('reaches the sign-in form before the service worker has stored the app (a first visit, or no worker allowed), which says it needs the connection', async () => {
    // Blocked here; on a first visit the worker may still be installing as the connection goes.
    const bob = await e2e.signUp('Bob Chen', { serviceWorkers: 'block' })
    const page = bob.page
    const banner = page.getByTestId('connection-banner')
    const said = () => page.getByTestId('connection-status').textContent()

    await bob.context.setOffline(true)
    try {
      await expect.poll(() => bannerState(page)).toBe('offline')
      expect(await banner.innerText()).toBe('Offline — showing saved messages')
      await page.getByTestId('sign-out').click()
      await page.getByTestId('auth-username').waitFor()
      expect(new URL(page.url()).pathname).toBe('/signin')
      expect(await page.getByTestId('room-list').count()).toBe(0)
      // Signed out, nothing saved is shown; the form needs the server. Seen and heard.
      expect(await banner.innerText()).toBe('Offline — signing in needs a connection')
      expect((await said())?.trim()).toBe('Offline — signing in needs a connection')
    } finally {
      await bob.context.setOffline(false)
    }
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
      await expect
        .poll(() => message(tab, 'Written in the other tab').getAttribute('data-pending'))
        .toBe('true')

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

describe('a session that ends by itself', () => {
  /**
   * Alice writes a message offline (the app opened from the service worker:
   * no socket), her session ends on the server meanwhile (as when it
   * expires: her device hears nothing of it), and the device comes back.
   */
  async function endedWithAMessageWaiting(name: string) {
    const alice = await e2e.signUp(name)
    const page = alice.page
    const roomId = await createRoom(page, 'night-train')
    await say(page, 'Before the tunnel')
    // Delivered before the worker's reload, shown after it, saved: as the offline tests do.
    await expect.poll(() => storedBodies(page, roomId)).toEqual(['Before the tunnel'])
    await waitForServiceWorker(page)
    await message(page, 'Before the tunnel').waitFor()
    await waitForSavedRoom(page, roomId, 1, 'Before the tunnel')
    const { user } = await query<{ user: { id: string } }>(page, 'auth.me')
    const cookies = await alice.context.cookies()

    await alice.context.setOffline(true)
    try {
      await page.reload()
      await expect.poll(() => bannerState(page)).toBe('offline')
      const composer = page.getByTestId('composer')
      await composer.fill('Written as the session ran out')
      await composer.press('Enter')
      await expect
        .poll(() => message(page, 'Written as the session ran out').getAttribute('data-pending'))
        .toBe('true')
      await composer.fill('A draft for later')

      const elsewhere = await e2e.newPage()
      await elsewhere.context.addCookies(cookies)
      await elsewhere.page.goto('/signin')
      await mutate(elsewhere.page, 'auth.logout', undefined)
      await elsewhere.context.close()
    } finally {
      await alice.context.setOffline(false)
    }
    // Back online, the app learns the session is over: the sign-in form, saying what waits.
    await page.getByTestId('kept-notice').waitFor()
    return { alice, page, roomId, aliceId: user.id }
  }

  it('keeps what was waiting: the same user signed in again, the message is sent once and the draft is back', async () => {
    const { alice, page, roomId } = await endedWithAMessageWaiting('Alice Lapsed')
    expect(await page.getByTestId('kept-notice').innerText()).toContain(alice.username)
    expect(await page.getByTestId('auth-username').inputValue()).toBe(alice.username)
    expect(await storedBodies(page, roomId).catch(() => null)).toBeNull() // signed out: refused

    await page.getByTestId('auth-password').fill(PASSWORD)
    await page.getByTestId('auth-submit').click()
    await page.getByTestId('room-list').waitFor({ state: 'attached' })
    await expect
      .poll(() => storedBodies(page, roomId))
      .toEqual(['Before the tunnel', 'Written as the session ran out'])
    await page.goto(`/rooms/${roomId}`)
    await expect.poll(() => page.getByTestId('composer').inputValue()).toBe('A draft for later')
    expect(await page.getByTestId('kept-notice').count()).toBe(0)
  })

  it('someone else signing in on the device deletes it: never sent, nothing of it left here', async () => {
    const { alice, page, roomId, aliceId } = await endedWithAMessageWaiting('Alice Shared')
    const bob = await e2e.signUp('Bob Borrower')
    await signIn(page, bob.username)
    await expect
      .poll(() => page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name)))
      .not.toContain(`parley-${aliceId}`)
    // Nor in localStorage: her drafts, anything kept there on its way into IndexedDB.
    expect(
      await page.evaluate((id) => Object.keys(localStorage).filter((k) => k.includes(id)), aliceId),
    ).toEqual([])

    // Alice, on another device, sees only what she sent before.
    const other = await e2e.newPage()
    await signIn(other.page, alice.username)
    expect(await storedBodies(other.page, roomId)).toEqual(['Before the tunnel'])
  })
})
