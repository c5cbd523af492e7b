/**
 * Notifications of new messages: off until the user turns them on (the
 * browser asks then); on, a message from someone else shows as the system's
 * notification while Parley is in the background — not while it is in front,
 * never for one's own, one per room (the newest replacing) — and a click on
 * one opens its room; the user's other tabs follow the bell, and with
 * Parley in two tabs a message is news only while neither is in front, and
 * alerts once; sign-out turns them off.
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  createRoom,
  invite,
  message,
  mutate,
  roomItem,
  sendElsewhere,
  signIn,
  twoInPrivateRoom,
  unreadBadge,
  useE2E,
  waitForServiceWorker,
} from './harness.ts'

const e2e = useE2E()

/** The notifications Parley shows now, as the system has them. */
function shown(page: Page): Promise<{ title: string; body: string; tag: string }[]> {
  return page.evaluate(async () => {
    const worker = await navigator.serviceWorker.ready
    const all = await worker.getNotifications()
    return all.map((n) => ({ title: n.title, body: n.body, tag: n.tag }))
  })
}

/** Parley goes to the background (another tab or app in front). */
function toBackground(page: Page): Promise<void> {
  return page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
    document.dispatchEvent(new Event('visibilitychange'))
  })
}

describe('notifications', () => {
  it('turned on, a message from someone else shows while Parley is in the background, one per room, and a click opens its room', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'standup', [
      'Alice Martin',
      'Bob Chen',
    ])
    // A second room takes the messages that must not notify: nothing later replaces a
    // notification there (one per room), so one shown late still shows at the end.
    const quietId = await createRoom(alice.page, 'quiet', { private: true })
    await invite(alice.page, bob.username)
    const b = bob.page
    await bob.context.grantPermissions(['notifications'], { origin: e2e.base })
    await b.goto('/')
    await roomItem(b, 'standup').waitFor()
    await waitForServiceWorker(b)

    // Off until he turns them on.
    const toggle = b.getByTestId('notify-toggle')
    expect(await toggle.getAttribute('aria-pressed')).toBe('false')
    await sendElsewhere(alice.page, quietId, ['before he asked'])
    await expect.poll(() => unreadBadge(b, 'quiet')).toBe('1')
    await toBackground(b)
    await sendElsewhere(alice.page, quietId, ['still not asked'])
    await expect.poll(() => unreadBadge(b, 'quiet')).toBe('2')
    expect(await shown(b)).toEqual([])
    await b.reload()
    await roomItem(b, 'standup').waitFor()
    // His other tab's bell follows.
    const tab = await bob.context.newPage()
    await tab.goto('/')
    const otherBell = tab.getByTestId('notify-toggle')
    await otherBell.waitFor()
    await toggle.click()
    await expect.poll(() => toggle.getAttribute('aria-pressed')).toBe('true')
    await expect.poll(() => otherBell.getAttribute('aria-pressed')).toBe('true')
    await tab.close()

    // In front, the page shows what came: no notification.
    await sendElsewhere(alice.page, quietId, ['while he looks'])
    await expect.poll(() => unreadBadge(b, 'quiet')).toBe('3')
    expect(await shown(b)).toEqual([])

    // In the background: one per room, the newest in it.
    await toBackground(b)
    await sendElsewhere(alice.page, roomId, ['**Standup** in 5', 'bring the notes'])
    await expect
      .poll(() => shown(b))
      .toEqual([{ title: 'Alice Martin in standup', body: 'bring the notes', tag: roomId }])
    // A direct message goes by the person's name; his own messages are no news.
    const direct = await mutate<{ id: string }>(alice.page, 'rooms.direct', {
      username: bob.username,
    })
    await sendElsewhere(alice.page, direct.id, ['a word in private'])
    await sendElsewhere(b, roomId, ['my own, from my phone'])
    await expect
      .poll(() => roomItem(b, 'standup').getByTestId('room-last-message').innerText())
      .toBe('You: my own, from my phone')
    await expect
      .poll(() => shown(b).then((all) => all.map((n) => `${n.title}: ${n.body}`).sort()))
      .toEqual(['Alice Martin in standup: bring the notes', 'Alice Martin: a word in private'])
    // Named in a room, he is told so.
    await sendElsewhere(alice.page, roomId, [`@${bob.username} you are up first`])
    await expect
      .poll(() => shown(b).then((all) => all.map((n) => `${n.title}: ${n.body}`).sort()))
      .toEqual([
        `Alice Martin mentioned you in standup: @${bob.username} you are up first`,
        'Alice Martin: a word in private',
      ])

    // A click (the worker's handler, as the system calls it) opens the room in this window.
    const [worker] = bob.context.serviceWorkers()
    await worker!.evaluate(
      (path) =>
        (
          self as unknown as { openFromNotification(p: string): Promise<void> }
        ).openFromNotification(path),
      `/rooms/${roomId}`,
    )
    await b.waitForURL(`**/rooms/${roomId}`)
    await message(b, 'you are up first').waitFor()

    // Signed out and in again: off.
    await b.getByTestId('sign-out').click()
    await b.getByTestId('auth-username').waitFor()
    await signIn(b, bob.username)
    await expect.poll(() => toggle.getAttribute('aria-pressed')).toBe('false')
  })

  it('with Parley open in two tabs, a message is news only while neither is in front, and alerts once', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'pairing', [
      'Alice Martin',
      'Bob Chen',
    ])
    await bob.context.grantPermissions(['notifications'], { origin: e2e.base })
    const b = bob.page
    // Every notification shown, from a page or the worker: the system shows those of
    // one room as one (its tag), but each of them alerts.
    const fromPages: string[] = []
    await bob.context.exposeBinding('noteAlert', (_source, body: string) => fromPages.push(body))
    await bob.context.addInitScript(() => {
      const proto = ServiceWorkerRegistration.prototype
      const show = proto.showNotification
      proto.showNotification = function (title: string, options?: NotificationOptions) {
        void (window as unknown as { noteAlert(body: string): Promise<void> }).noteAlert(
          options?.body ?? '',
        )
        return show.call(this, title, options)
      }
    })
    await b.goto('/')
    await roomItem(b, 'pairing').waitFor()
    await waitForServiceWorker(b)
    type Logged = { registration: ServiceWorkerRegistration; shownBodies: string[] }
    const [worker] = bob.context.serviceWorkers()
    await worker!.evaluate(() => {
      const scope = self as unknown as Logged
      const show = scope.registration.showNotification.bind(scope.registration)
      scope.shownBodies = []
      scope.registration.showNotification = (title: string, options?: NotificationOptions) => {
        scope.shownBodies.push(options?.body ?? '')
        return show(title, options)
      }
    })
    const alerts = async () => [
      ...fromPages,
      ...(await worker!.evaluate(() => (self as unknown as Logged).shownBodies)),
    ]
    const toggle = b.getByTestId('notify-toggle')
    await toggle.click()
    await expect.poll(() => toggle.getAttribute('aria-pressed')).toBe('true')
    const tab = await bob.context.newPage()
    await tab.goto('/')
    await roomItem(tab, 'pairing').waitFor()
    const lastIn = (page: Page) =>
      roomItem(page, 'pairing').getByTestId('room-last-message').innerText()

    // He reads in one tab; the other is behind it.
    await toBackground(tab)
    await sendElsewhere(alice.page, roomId, ['while he reads the other tab'])
    await expect.poll(() => lastIn(tab)).toContain('while he reads the other tab')
    // Then neither is in front: the next message alerts once, not once per tab.
    await toBackground(b)
    await sendElsewhere(alice.page, roomId, ['now he is away'])
    await expect.poll(alerts).toEqual(['now he is away'])
    await expect
      .poll(() => Promise.all([lastIn(b), lastIn(tab)]))
      .toEqual([
        expect.stringContaining('now he is away'),
        expect.stringContaining('now he is away'),
      ])
    // Both tabs have it; a second alert would follow within moments.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(await alerts()).toEqual(['now he is away'])
    expect(await shown(b)).toEqual([
      { title: 'Alice Martin in pairing', body: 'now he is away', tag: roomId },
    ])
    await tab.close()
  })

  it('a muted room raises no notification and stays out of the tab’s count, except a message naming the user; his other device follows', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'chatter', [
      'Alice Mute',
      'Bob Mute',
    ])
    const signalId = await createRoom(alice.page, 'signal', { private: true })
    await invite(alice.page, bob.username)
    const b = bob.page
    await bob.context.grantPermissions(['notifications'], { origin: e2e.base })
    const laptop = await e2e.newPage()
    await signIn(laptop.page, bob.username)
    const mutedMark = (page: Page) => roomItem(page, 'chatter').getByTestId('room-muted')

    // Bob mutes the room from its header; his laptop's list shows it muted at once.
    await b.goto(`/rooms/${roomId}`)
    const mute = b.getByTestId('mute-room')
    expect(await mute.getAttribute('aria-pressed')).toBe('false')
    await mute.click()
    await expect.poll(() => mute.getAttribute('aria-pressed')).toBe('true')
    expect(await mute.getAttribute('title')).toBe('Unmute room')
    await mutedMark(laptop.page).waitFor()

    // Notifications on, Parley in the background: the muted room's message shows in its
    // badge, but not as a notification nor in the tab's count; the other room's does.
    await b.goto('/')
    await roomItem(b, 'chatter').waitFor()
    await mutedMark(b).waitFor()
    await waitForServiceWorker(b)
    await b.getByTestId('notify-toggle').click()
    await expect
      .poll(() => b.getByTestId('notify-toggle').getAttribute('aria-pressed'))
      .toBe('true')
    await toBackground(b)
    await sendElsewhere(alice.page, roomId, ['idle chatter'])
    await expect.poll(() => unreadBadge(b, 'chatter')).toBe('1')
    await sendElsewhere(alice.page, signalId, ['the build is red'])
    await expect
      .poll(() => shown(b))
      .toEqual([{ title: 'Alice Mute in signal', body: 'the build is red', tag: signalId }])
    expect(await b.title()).toBe('(1) Parley')

    // Named in it, he is told.
    await sendElsewhere(alice.page, roomId, [`@${bob.username} can you look?`])
    await expect
      .poll(() => shown(b).then((all) => all.map((n) => `${n.title}: ${n.body}`).sort()))
      .toEqual([
        'Alice Mute in signal: the build is red',
        `Alice Mute mentioned you in chatter: @${bob.username} can you look?`,
      ])

    // Unmuted on the laptop (after a reload: the server kept it), the phone follows, and the
    // room's messages are news again.
    await laptop.page.reload()
    await mutedMark(laptop.page).waitFor()
    await laptop.page.goto(`/rooms/${roomId}`)
    await laptop.page.getByTestId('mute-room').click()
    await expect.poll(() => mutedMark(b).count()).toBe(0)
    await sendElsewhere(alice.page, roomId, ['back to normal'])
    await expect
      .poll(() => shown(b).then((all) => all.find((n) => n.tag === roomId)?.body))
      .toBe('back to normal')
    await expect.poll(() => b.title()).toBe('(4) Parley')
    await laptop.context.close()
  })

  it('refused when the browser asks, the bell stays off and says where to allow them', async () => {
    // No permission granted to this context: headless Chromium answers the request with no.
    const { page } = await e2e.signUp('Nia Nope')
    const toggle = page.getByTestId('notify-toggle')
    await toggle.click()
    const said = "Notifications are blocked for Parley: allow them in the browser's site settings"
    await page.getByText(said).waitFor()
    expect(await page.evaluate(() => Notification.permission)).toBe('denied')
    expect(await toggle.getAttribute('aria-pressed')).toBe('false')
    expect(await toggle.getAttribute('title')).toBe('Notifications are blocked in the browser')
  })
})
