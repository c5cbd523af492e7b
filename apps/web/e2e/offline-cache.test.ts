/**
 * The copy of a room saved on the device (IndexedDB) is one run of messages
 * the server gave — no gap between a visit long ago and the latest page, no
 * message deleted since — and, read offline, the top of the list tells the
 * truth: the start of the conversation only when the copy holds it. The room
 * list an offline start shows is the one the app last showed, even when it
 * was put away and ended the moment after a change, before IndexedDB had it.
 * Started offline, a room the device has not saved says so and loads once it
 * can, as does one that could not reach the server; one saved with no
 * messages yet says that.
 */
import { describe, expect, it } from 'vitest'
import {
  bannerState,
  bodies,
  createRoom,
  holdStore,
  invite,
  message,
  mutate,
  openRoom,
  pendingCount,
  query,
  roomItem,
  say,
  savedRoom,
  sendElsewhere,
  storedBodies,
  twoInPrivateRoom,
  useE2E,
  waitForSavedRoom,
  waitForServiceWorker,
} from './harness.ts'
import type { Page } from 'playwright-core'

const e2e = useE2E()

const START = 'This is the start of the conversation.'

const numbered = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix} ${from + i}`)

/** Reloads with no network and waits for the app to say it is offline. */
async function reloadOffline(page: Page): Promise<void> {
  await page.context().setOffline(true)
  await page.reload()
  await expect.poll(() => bannerState(page)).toBe('offline')
}

/**
 * The page's sends answered, the service worker in control, and the room
 * saved with `count` messages up to `lastBody`: ready for an offline start.
 * Answered first, so that the set-up is not about a send in flight across
 * the worker's reload (offline.test.ts has its own test for that).
 */
async function savedForOffline(page: Page, roomId: string, count: number, lastBody: string) {
  await expect.poll(() => pendingCount(page)).toBe(0)
  await waitForServiceWorker(page)
  await message(page, lastBody).waitFor()
  await waitForSavedRoom(page, roomId, count, lastBody)
}

describe('the room saved on the device', () => {
  it('offline, the top of a room says the start only when the saved copy holds it', async () => {
    const { page, context } = await e2e.signUp('Stella Archer')
    const shortId = await createRoom(page, 'short-talk')
    await say(page, 'hello there')
    await say(page, 'all of it')
    await savedForOffline(page, shortId, 2, 'all of it')

    // Longer than the device keeps (the app may read older pages in as it
    // scrolls, but it keeps the newest 200), written elsewhere and opened in
    // a later visit: older messages stay on the server.
    const longId = await createRoom(page, 'long-talk')
    await createRoom(page, 'elsewhere')
    await sendElsewhere(page, longId, numbered('Line', 1, 230))
    await page.reload()
    await openRoom(page, 'long-talk')
    await message(page, 'Line 230').waitFor()
    await waitForSavedRoom(page, longId, 50, 'Line 230')

    try {
      await reloadOffline(page)
      await message(page, 'Line 230').waitFor()
      expect(await page.getByText(START).count()).toBe(0)
      expect(await page.getByTestId('older-unsaved').innerText()).toBe(
        'Older messages need a connection.',
      )

      await openRoom(page, 'short-talk')
      await message(page, 'all of it').waitFor()
      await page.getByText(START).waitFor()
      expect(await page.getByTestId('older-unsaved').count()).toBe(0)
    } finally {
      await context.setOffline(false)
    }
  })

  it('a room visited long ago and opened again keeps no gap and nothing deleted since', async () => {
    const { page, context } = await e2e.signUp('Paul Keeper')
    const roomId = await createRoom(page, 'archive')
    await say(page, 'Read long ago')
    await say(page, 'Deleted while away')
    await savedForOffline(page, roomId, 2, 'Deleted while away')

    // Away in another room while the archive moves on: a message is deleted
    // and more than a page is written.
    await createRoom(page, 'lobby')
    const { messages } = await query<{ messages: { id: string; body: string }[] }>(
      page,
      'messages.list',
      { roomId },
    )
    const gone = messages.find((m) => m.body === 'Deleted while away')!
    await mutate(page, 'messages.delete', { messageId: gone.id })
    const later = numbered('Later', 1, 55)
    await sendElsewhere(page, roomId, later)

    // Opened again online in a later visit: the latest page is shown and saved.
    await page.reload()
    await openRoom(page, 'archive')
    await message(page, 'Later 55').waitFor()
    await waitForSavedRoom(page, roomId, 50, 'Later 55')

    try {
      await reloadOffline(page)
      await message(page, 'Later 55').waitFor()
      // What the server gave in the last visit: not the old visit glued on top
      // of it as if nothing came between, nor the message deleted since. The
      // page and the room's resumed events race: if the page came first, the
      // saved copy is the latest page and whatever followed it; if the events
      // came first, they joined the old visit to the page, so the copy is the
      // whole history without the deleted message, and says where it starts.
      const shown = await bodies(page)
      if (shown[0] === 'Read long ago') {
        expect(shown).toEqual(['Read long ago', ...later])
        await page.getByText(START).waitFor()
        expect(await page.getByTestId('older-unsaved').count()).toBe(0)
      } else {
        expect(shown.length).toBeGreaterThanOrEqual(50)
        expect(shown).toEqual(later.slice(-shown.length))
        expect(await page.getByTestId('older-unsaved').innerText()).toBe(
          'Older messages need a connection.',
        )
      }
    } finally {
      await context.setOffline(false)
    }
  })
})

describe('the room list saved on the device', () => {
  it('an offline start lists what the app last showed: a room added and news that came just before it was put away and ended, before the device stored them', async () => {
    const { page, context, username } = await e2e.signUp('Rita Late')
    const ownId = await createRoom(page, 'own-room')
    await waitForServiceWorker(page)
    await waitForSavedRoom(page, ownId, 0)

    const host = await e2e.signUp('Hank Host')
    const hostRoomId = await createRoom(host.page, 'just-in-time', { private: true })
    await invite(host.page, username)
    await roomItem(page, 'just-in-time').waitFor()
    await sendElsewhere(host.page, hostRoomId, ['Fresh news'])
    await roomItem(page, 'just-in-time').filter({ hasText: 'Fresh news' }).waitFor()
    // A busy phone: the list's IndexedDB write does not land before the app is ended.
    await page.evaluate(holdStore, 'rooms')
    // What a phone's browser does as the app is put away; it may then end it without warning.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
      document.dispatchEvent(new Event('visibilitychange'))
    })
    await page.close()

    try {
      await context.setOffline(true)
      const again = await context.newPage()
      await again.goto('/') // from the service worker
      await expect.poll(() => bannerState(again)).toBe('offline')
      await roomItem(again, 'own-room').waitFor()
      await expect
        .poll(() => roomItem(again, 'just-in-time').getByTestId('room-last-message').innerText())
        .toContain('Fresh news')
    } finally {
      await context.setOffline(false)
    }
  })

  it('a room with no messages yet, opened again with no network, says so (not that it is not saved) and takes the first one', async () => {
    const { page } = await e2e.signUp('Quinn Quiet')
    const roomId = await createRoom(page, 'quiet-carriage')
    await waitForServiceWorker(page)
    await expect
      .poll(() => savedRoom(page, roomId))
      .toMatchObject({ room: true, messages: 0, fromStart: true })

    await reloadOffline(page)
    try {
      await page.getByText("It's just you here so far.").waitFor()
      expect(await page.getByText("This room isn't saved on this device yet.").count()).toBe(0)
      await say(page, 'First words, from the train')
      await expect.poll(() => pendingCount(page)).toBe(1)
    } finally {
      await page.context().setOffline(false)
    }
    await expect.poll(() => pendingCount(page)).toBe(0)
    expect(await storedBodies(page, roomId)).toEqual(['First words, from the train'])
  })

  it('started with no network, a room the device has not saved and the directory wait for it (not "Could not load"), and load by themselves once it is back', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'not-on-the-phone', [
      'Alma Saved',
      'Boris Unsaved',
    ])
    await say(alice.page, 'Read me when you can')
    const page = bob.page
    await roomItem(page, 'not-on-the-phone').waitFor()
    await waitForServiceWorker(page)
    // The socket tries every second while offline: the clock of this test.
    let tries = 0
    page.on('websocket', () => void tries++)

    // On the train: the app opened at the room, which it never showed here.
    await page.context().setOffline(true)
    try {
      await page.goto(`/rooms/${roomId}`)
      await page.getByText("This room isn't saved on this device yet.").waitFor()
      // Long past a failed first try and both retries (~3 s): it still waits.
      await expect.poll(() => tries, { timeout: 10_000 }).toBeGreaterThanOrEqual(5)
      expect(await page.getByText("This room isn't saved on this device yet.").isVisible()).toBe(
        true,
      )
      expect(await page.getByText('Could not load the messages').count()).toBe(0)
      // So does the directory.
      await page.getByTestId('browse-link').click()
      await page.getByTestId('offline-note').waitFor()
      expect(await page.getByText('Could not load the rooms').count()).toBe(0)
    } finally {
      await page.context().setOffline(false)
    }
    // No Retry to press: they come as the network does.
    await page.getByTestId('offline-note').waitFor({ state: 'detached' })
    await expect.poll(() => page.getByTestId('browse-status').innerText()).toMatch(/found/)
    await roomItem(page, 'not-on-the-phone').click()
    await message(page, 'Read me when you can').waitFor()
  })

  it('a room that could not reach the server (the network up, the server not) loads by itself once the connection is back, without Retry', async () => {
    const { link } = e2e
    const alice = await e2e.signUp('Ada Reach')
    const bob = await e2e.signUp('Bram Reach', { baseURL: link.base })
    const roomId = await createRoom(alice.page, 'behind-the-hill')
    await invite(alice.page, bob.username)
    await say(alice.page, 'Over the hill')
    const page = bob.page
    await roomItem(page, 'behind-the-hill').waitFor()

    link.setDown(true)
    try {
      await roomItem(page, 'behind-the-hill').click()
      await page.waitForURL(`**/rooms/${roomId}`)
      // Its first try and both retries failed: that is what it says, with Retry.
      await page.getByText('Could not load the messages').waitFor()
    } finally {
      link.setDown(false)
    }
    await message(page, 'Over the hill').waitFor({ timeout: 30_000 })
    expect(await page.getByText('Could not load the messages').count()).toBe(0)
  })
})
