/**
 * Offline: a cold start with no network comes from the service worker and
 * IndexedDB (and a first visit, once it says it works offline, opens a
 * page it had not loaded yet with no network), and a slow first connection says "Connecting…" over the saved
 * room; a try to reconnect whose handshake is lost (a tunnel) is given up
 * after 20 s for the next; messages written offline wait in a persistent outbox and are
 * delivered once, in order, when the network returns (the room list shows
 * the newest of them as the room's last, waiting). Online, a send goes
 * over the open WebSocket, and one whose socket drops before the answer is
 * sent again and delivered once, as is one sent right before a reload, before
 * the device stored it; one whose message came back but whose
 * answer did not, deleted offline, shows as being deleted until it is; the
 * user's tabs show the same outbox, and a message deleted in one of them
 * while another has it on the wire is deleted on the server after it lands; read markers and typing go over the socket too, and a
 * marker the socket drops is sent again, also for a room left offline; after a drop the room list is
 * fetched again over the new socket, and the member list shows who came or
 * went meanwhile; and an app opened offline connects
 * within seconds of the network coming back, however long it was gone.
 */
import type { BrowserContext, Page, WebSocketRoute } from 'playwright-core'
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
  PHONE,
  query,
  roomItem,
  say,
  sendElsewhere,
  signUpIn,
  storedBodies,
  twoInPrivateRoom,
  typingText,
  unreadBadge,
  unreadOnServer,
  useE2E,
  waitForSavedRoom,
  waitForServiceWorker,
  wsFrames,
} from './harness.ts'

const e2e = useE2E()

/**
 * Alice and Bob in a private room, both on it, Alice's "Before the tunnel"
 * delivered to Bob and saved on Alice's device, her service worker in control:
 * ready for Alice to lose the network.
 */
async function beforeTheTunnel(room: string, names: [string, string]) {
  const { alice, bob, roomId } = await twoInPrivateRoom(e2e, room, names)
  const a = alice.page
  const b = bob.page
  await openRoom(b, room)
  await say(a, 'Before the tunnel')
  await message(b, 'Before the tunnel').waitFor()
  await waitForServiceWorker(a)
  await message(a, 'Before the tunnel').waitFor()
  await waitForSavedRoom(a, roomId, 1, 'Before the tunnel')
  return { alice, roomId, a, b }
}

/** One of the page's tRPC sockets, relayed through the test. */
interface Relayed {
  toPage: WebSocketRoute
  toServer: WebSocketRoute
  /** Every frame the page sent on it, held back or not. */
  sent: string[]
  closed: boolean
}

/**
 * Relays every tRPC socket the context (or page) opens from here on to the
 * server and back, recording what the page sends. A hook returning false holds
 * a frame back (the hook may close the page's socket, or send the frame later);
 * while `refuse` returns true, a new socket is closed at once, as with no
 * network. Returns the sockets, oldest first.
 */
async function relaySockets(
  context: Pick<BrowserContext, 'routeWebSocket'>,
  hooks: {
    fromPage?: (text: string, socket: Relayed) => boolean
    fromServer?: (text: string, socket: Relayed) => boolean
    refuse?: () => boolean
  } = {},
): Promise<Relayed[]> {
  const sockets: Relayed[] = []
  await context.routeWebSocket(/\/trpc$/, (toPage) => {
    if (hooks.refuse?.()) return toPage.close({ code: 1006, reason: 'no network (the test)' })
    const server = toPage.connectToServer()
    const socket: Relayed = { toPage, toServer: server, sent: [], closed: false }
    sockets.push(socket)
    toPage.onMessage((frame) => {
      const text = frame.toString()
      socket.sent.push(text)
      if (hooks.fromPage?.(text, socket) !== false) server.send(frame)
    })
    server.onMessage((frame) => {
      if (hooks.fromServer?.(frame.toString(), socket) !== false) toPage.send(frame)
    })
    toPage.onClose(() => {
      socket.closed = true
      server.close()
    })
  })
  return sockets
}

/**
 * Reloads the page so that its socket goes through the relay (routes apply
 * to sockets opened after them), and waits until that socket is open: a
 * frame from the page. A send then goes over it.
 */
async function reloadThroughRelay(page: Page, sockets: Relayed[]): Promise<void> {
  await page.reload()
  await message(page, 'Before the tunnel').waitFor()
  await expect.poll(() => sockets[0]?.sent.length ?? 0).toBeGreaterThan(0)
}

/** How many items the outbox of the user signed in on `page` holds in IndexedDB (read-only). */
const storedOutbox = (page: Page) =>
  page.evaluate(async () => {
    const raw = localStorage.getItem('parley:user')
    const name = raw && `parley-${(JSON.parse(raw) as { id: string }).id}`
    if (!name || !(await indexedDB.databases()).some((d) => d.name === name)) return 0
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name)
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    try {
      return await new Promise<number>((resolve, reject) => {
        const req = db.transaction('outbox').objectStore('outbox').count()
        req.onsuccess = () => resolve(req.result)
        req.onerror = () => reject(req.error)
      })
    } finally {
      db.close()
    }
  })

/** How many frames the page sent over its sockets naming the procedure `path`. */
const sentOver = (sockets: Relayed[], path: string) =>
  sockets.flatMap((s) => s.sent).filter((f) => f.includes(`"${path}"`)).length

/**
 * Deletes the message on the page's screen through its button and the app's
 * dialog, and waits until it has gone; returns what the dialog said.
 */
async function deleteOnScreen(page: Page, text: string): Promise<string> {
  const item = message(page, text)
  await item.hover()
  await item.getByTestId('delete-button').click()
  const said = await page.getByTestId('confirm-dialog').innerText()
  await page.getByTestId('confirm-accept').click()
  await item.waitFor({ state: 'detached' })
  return said
}

/** Cuts the network: the context goes offline, and the sockets relayed through the test close (emulated offline leaves them open). */
async function cutNetwork(context: BrowserContext, sockets: Relayed[]): Promise<void> {
  for (const s of sockets) if (!s.closed) s.toPage.close({ code: 4000, reason: 'no network' })
  await context.setOffline(true)
}

/** Bob's page and the server have only "Before the tunnel" again: the message was deleted (Bob sees where). */
async function deletedForBob(b: Page, roomId: string): Promise<void> {
  await expect.poll(() => bodies(b), { timeout: 20_000 }).toEqual(['Before the tunnel'])
  await b.getByTestId('message-deleted').waitFor()
  expect(await storedBodies(b, roomId)).toEqual(['Before the tunnel'])
}

describe('offline', () => {
  it('before the service worker has stored the app, a phone goes back from a room to its room list offline', async () => {
    // Blocked here; on a first visit the worker may still be installing as the connection goes.
    const { page, context } = await e2e.signUp('Pia Quinn', { ...PHONE, serviceWorkers: 'block' })
    // From the directory a new user lands on: the room list (home) has not been shown yet.
    await createRoom(page, 'first-room')
    await context.setOffline(true)
    try {
      await expect.poll(() => bannerState(page)).toBe('offline')
      await page.getByLabel('Back to rooms').click()
      await roomItem(page, 'first-room').waitFor()
      expect(new URL(page.url()).pathname).toBe('/')
    } finally {
      await context.setOffline(false)
    }
  })

  it('reading: a reload with no network opens from the service worker, with the saved room, and says it is offline', async () => {
    const { page, context } = await e2e.signUp('Olivia Park')
    const roomId = await createRoom(page, 'field-notes', { topic: 'Notes from the road' })
    await createRoom(page, 'travel-plans')
    await roomItem(page, 'field-notes').click()
    await page.waitForURL(`**/rooms/${roomId}`)
    const written = ['Day one: the train was late', 'Day two: **sunny** at last', 'Day three: home']
    for (const text of written) await say(page, text)
    await message(page, 'Day three').waitFor()

    // Prerequisites for an offline start: the worker controls the page and the room is saved.
    await waitForServiceWorker(page)
    await message(page, 'Day three').waitFor()
    await waitForSavedRoom(page, roomId, written.length, written.at(-1))

    await context.setOffline(true)
    try {
      await page.reload()
      expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true)
      const banner = page.getByTestId('connection-banner')
      await expect.poll(() => bannerState(page)).toBe('offline')
      expect(await banner.innerText()).toMatch(/offline/i)
      // The room list and the room's messages, from IndexedDB.
      await roomItem(page, 'field-notes').waitFor()
      await roomItem(page, 'travel-plans').waitFor()
      await message(page, 'Day three').waitFor()
      expect(await bodies(page)).toEqual([
        'Day one: the train was late',
        'Day two: sunny at last',
        'Day three: home',
      ])
      expect(await page.getByTestId('room-title').innerText()).toBe('field-notes')
      // Who is in the room is not saved: the list says so, with no count (not "Members 0").
      const members = page.getByTestId('member-list')
      await members.getByText("Members aren't available offline.").waitFor()
      expect(await members.locator('h2').innerText()).toBe('Members')

      // A new tab (a cold start of the app shell at /) works too.
      const tab = await context.newPage()
      await tab.goto('/')
      await roomItem(tab, 'field-notes').click()
      await message(tab, 'Day one').waitFor()
      await tab.getByTestId('connection-banner').waitFor()
      await tab.close()
    } finally {
      await context.setOffline(false)
    }
    // Back online, the banner goes away.
    await page.getByTestId('connection-banner').waitFor({ state: 'detached' })
  })

  it('a slow first connection (a train): the saved room shows, and after 2 s the banner says "Connecting…" until the socket opens', async () => {
    const { page } = await e2e.signUp('Cora Connect')
    const roomId = await createRoom(page, 'slow-start')
    await say(page, 'Saved before the train')
    await message(page, 'Saved before the train').waitFor()
    await waitForSavedRoom(page, roomId, 1, 'Saved before the train')
    // The network is up, but the socket takes its time to open (and HTTP answers too).
    let letThrough!: () => void
    const through = new Promise<void>((resolve) => (letThrough = resolve))
    await page.route(/\/trpc\//, async (route) => {
      await through
      await route.continue()
    })
    await page.routeWebSocket(/\/trpc$/, async (ws) => {
      await through
      ws.connectToServer()
    })
    await page.reload()
    await message(page, 'Saved before the train').waitFor()
    const status = page.getByTestId('connection-status')
    await expect.poll(() => bannerState(page)).toBe('connecting')
    expect(await page.getByTestId('connection-banner').innerText()).toBe('Connecting…')
    expect(await status.innerText()).toBe('Connecting…')

    letThrough()
    await page.getByTestId('connection-banner').waitFor({ state: 'detached' })
    await expect.poll(() => status.innerText()).toBe('Connected')
    // And it is live: a message from elsewhere arrives.
    await sendElsewhere(page, roomId, ['Signal again'])
    await message(page, 'Signal again').waitFor()
  })

  it('a first visit: once it says it works offline it does, without a reload: a room not opened yet opens with no network', async () => {
    const alice = await e2e.signUp('Ana First')
    const bob = await e2e.newPage()
    const b = bob.page
    // The worker is held back until the room is in Bob's list, so that "works
    // offline" (which goes by itself after 6 s) comes while the test looks for it.
    let releaseWorker!: () => void
    const workerHeld = new Promise<void>((resolve) => (releaseWorker = resolve))
    await bob.context.route('**/sw.js', async (route) => {
      await workerHeld
      await route.continue()
    })
    const bobName = `ben${Date.now().toString(36).slice(-6)}`
    await signUpIn(b, bobName, 'Ben First')
    const roomId = await createRoom(alice.page, 'first-visit', { private: true })
    await invite(alice.page, bobName)
    await say(alice.page, 'Welcome aboard')
    await roomItem(b, 'first-visit').waitFor()
    releaseWorker()
    // Said once the worker has taken the page it was installed from: its page chunks now come from the device.
    await b.getByTestId('offline-ready').waitFor()
    // Not from Chromium's HTTP cache, which may hold them from the worker's
    // install but can drop them at any time (Playwright's routing turns it off).
    await bob.context.route('**/assets/**', (route) => route.continue())

    await bob.context.setOffline(true)
    try {
      await roomItem(b, 'first-visit').click()
      await b.waitForURL(`**/rooms/${roomId}`)
      await expect.poll(() => b.getByTestId('room-title').innerText()).toBe('first-visit')
      await b.getByTestId('composer').waitFor()
      expect(await b.getByText('That page opens once you are back online.').count()).toBe(0)
    } finally {
      await bob.context.setOffline(false)
    }
    await message(b, 'Welcome aboard').waitFor()
  })

  it('in a tunnel: a try to reconnect whose handshake never comes back is given up after 20 s, and the next try brings the room back', async () => {
    const { link } = e2e
    const { page } = await e2e.signUp('Tia Tunnel', { baseURL: link.base })
    const roomId = await createRoom(page, 'tunnel')
    await say(page, 'Before the tunnel')
    await expect.poll(() => pendingCount(page)).toBe(0)

    // Into the tunnel: the socket is dropped, and the handshake of the next try is lost.
    link.holdHandshakes(true)
    try {
      link.cutSockets()
      await expect.poll(() => bannerState(page)).toBe('reconnecting')
      await expect.poll(() => link.held()).toBe(1)
      await sendElsewhere(page, roomId, ['Said in the tunnel'])
    } finally {
      // Out of it: new tries pass; the one already made stays lost.
      link.holdHandshakes(false)
    }
    // Chromium alone would wait 240 s for that handshake.
    await page.getByTestId('connection-banner').waitFor({ state: 'detached', timeout: 30_000 })
    expect(link.held()).toBe(1)
    await expect.poll(() => bodies(page)).toEqual(['Before the tunnel', 'Said in the tunnel'])
  })

  it('started while the server cannot be reached (the network up), it says it cannot reach Parley, not that the device is offline, and connects once it can', async () => {
    const { link } = e2e
    const { page } = await e2e.signUp('Sam Server', { baseURL: link.base })
    const roomId = await createRoom(page, 'far-server')
    await say(page, 'Saved here')
    await waitForServiceWorker(page)
    await message(page, 'Saved here').waitFor()
    await waitForSavedRoom(page, roomId, 1, 'Saved here')

    link.setDown(true)
    try {
      await page.reload() // the shell from the worker; the server refuses every connection
      await message(page, 'Saved here').waitFor()
      await expect.poll(() => bannerState(page)).toBe('offline')
      const words = 'Can’t reach Parley — showing saved messages'
      expect(await page.getByTestId('connection-banner').innerText()).toBe(words)
      await expect.poll(() => page.getByTestId('connection-status').innerText()).toBe(words)
    } finally {
      link.setDown(false)
    }
    await page.getByTestId('connection-banner').waitFor({ state: 'detached', timeout: 30_000 })
  })

  it('outbox: two messages written offline survive a reload and are delivered once, in order', async () => {
    const { alice, roomId, a, b } = await beforeTheTunnel('standup', ['Alice Martin', 'Bob Chen'])

    await alice.context.setOffline(true)
    try {
      await expect.poll(() => bannerState(a)).toBe('offline')
      await say(a, 'offline one')
      await say(a, 'offline two')
      const pending = a.locator('[data-testid="message-item"][data-pending="true"]')
      await expect
        .poll(() => pending.getByTestId('message-body').allInnerTexts())
        .toEqual(['offline one', 'offline two'])
      // Honest about why: not "Sending…" while there is nothing to send over.
      expect(await pending.getByTestId('message-status').allInnerTexts()).toEqual([
        'Waiting for connection — will send automatically',
        'Waiting for connection — will send automatically',
      ])

      // A reload (still offline) keeps both, still pending, in order.
      await a.reload()
      await message(a, 'offline two').waitFor()
      await message(a, 'Before the tunnel').waitFor()
      expect(await pending.getByTestId('message-body').allInnerTexts()).toEqual([
        'offline one',
        'offline two',
      ])
      expect(await bodies(a)).toEqual(['Before the tunnel', 'offline one', 'offline two'])
      // Nothing reached the server or Bob meanwhile.
      expect(await message(b, 'offline').count()).toBe(0)
    } finally {
      await alice.context.setOffline(false)
    }

    // Back online: delivered, in order, once — on Alice's screen, on Bob's (live), on the server.
    await expect.poll(() => pendingCount(a), { timeout: 20_000 }).toBe(0)
    await message(b, 'offline two').waitFor({ timeout: 20_000 })
    const expected = ['Before the tunnel', 'offline one', 'offline two']
    await expect.poll(() => bodies(b)).toEqual(expected)
    await expect.poll(() => bodies(a)).toEqual(expected)
    expect(await storedBodies(b, roomId)).toEqual(expected)
    const seqs = await a
      .getByTestId('message-item')
      .evaluateAll((items) => items.map((el) => Number(el.getAttribute('data-seq'))))
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
    expect(new Set(seqs).size).toBe(3)

    // And after a reload nothing is sent again.
    await a.reload()
    await message(a, 'offline two').waitFor()
    expect(await bodies(a)).toEqual(expected)
    expect(await storedBodies(a, roomId)).toEqual(expected)
  })
  it("the room list shows what was written offline as the room's last message, waiting, and takes the room up; sent, it stays", async () => {
    const { alice, a } = await beforeTheTunnel('standup', ['Alice Martin', 'Bob Chen'])
    await createRoom(a, 'later-room') // newer: above the standup in her list
    await roomItem(a, 'standup').click()
    await message(a, 'Before the tunnel').waitFor()
    const rooms = () => a.getByTestId('room-name').allInnerTexts()
    await expect.poll(rooms).toEqual(['later-room', 'standup'])
    const standup = roomItem(a, 'standup')
    const last = standup.getByTestId('room-last-message')
    const waiting = standup.getByTestId('room-unsent')

    await alice.context.setOffline(true)
    try {
      await expect.poll(() => bannerState(a)).toBe('offline')
      await say(a, 'offline one')
      await say(a, 'see you at **nine**')
      await expect.poll(() => last.innerText()).toBe('You: see you at nine')
      await waiting.waitFor()
      expect(await standup.innerText()).toContain('Waiting to send:')
      expect(await rooms()).toEqual(['standup', 'later-room'])
      // Still so after a reload: the outbox is on the device.
      await a.reload()
      await waiting.waitFor()
      expect(await last.innerText()).toBe('You: see you at nine')
      expect(await rooms()).toEqual(['standup', 'later-room'])
    } finally {
      await alice.context.setOffline(false)
    }

    // Sent: the same words, without the clock, in the same place.
    await expect.poll(() => pendingCount(a), { timeout: 20_000 }).toBe(0)
    await waiting.waitFor({ state: 'detached' })
    expect(await last.innerText()).toBe('You: see you at nine')
    expect(await rooms()).toEqual(['standup', 'later-room'])
  })

  it('a send goes over the open socket; one whose socket drops before the answer is sent again and delivered once', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'socket-sends', [
      'Alice Socket',
      'Bob Socket',
    ])
    const a = alice.page
    await openRoom(bob.page, 'socket-sends')

    // Watch Alice's socket from here on: her sends on it, and the answer to the next one held back.
    let dropNextAnswer = false
    const pendingIds = new Set<unknown>()
    const sockets = await relaySockets(alice.context, {
      fromPage(text) {
        if (dropNextAnswer && text.includes('"messages.send"')) {
          dropNextAnswer = false
          for (const req of wsFrames(text)) pendingIds.add(req.id)
        }
        return true
      },
      fromServer(text, socket) {
        if (!wsFrames(text).some((r) => pendingIds.has(r.id))) return true
        // The server has the message; the page never hears so, and its socket drops.
        pendingIds.clear()
        socket.toPage.close({ code: 4000, reason: 'dropped by the test' })
        return false
      },
    })
    const sendsOnSocket = () => sentOver(sockets, 'messages.send')
    const httpSends: string[] = []
    a.on('request', (r) => {
      if (r.url().includes('messages.send')) httpSends.push(r.url())
    })
    await a.reload()
    await a.getByTestId('composer').waitFor()
    await expect.poll(() => bannerState(a)).toBeNull()
    // The banner is quiet for a socket's first seconds of connecting: a send
    // goes over the socket once it is open, that is once the page has spoken on it.
    await expect.poll(() => sockets[0]?.sent.length ?? 0).toBeGreaterThan(0)

    await say(a, 'over the socket')
    await message(bob.page, 'over the socket').waitFor()
    expect(sendsOnSocket()).toBe(1)
    expect(httpSends).toEqual([])

    dropNextAnswer = true
    await say(a, 'answer lost')
    await message(bob.page, 'answer lost').waitFor()
    // The outbox never heard back, so it sends again with the same clientId
    // (over the new socket, or HTTP while there is none): the server keeps one.
    await expect
      .poll(() => sendsOnSocket() + httpSends.length, { timeout: 20_000 })
      .toBeGreaterThanOrEqual(3)
    await expect.poll(() => pendingCount(a)).toBe(0)
    const expected = ['over the socket', 'answer lost']
    await expect.poll(() => bodies(bob.page)).toEqual(expected)
    await expect.poll(() => bodies(a)).toEqual(expected)
    expect(await storedBodies(bob.page, roomId)).toEqual(expected)
  })

  it('a message sent right before a reload, before the device has stored it, is sent once after the reload', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'reload-send', [
      'Alice Reload',
      'Bob Reload',
    ])
    const a = alice.page
    await openRoom(bob.page, 'reload-send')
    // A busy device: the outbox's IndexedDB write (and so the send) is not
    // done when the page goes.
    await a.evaluate(holdStore, 'outbox')
    await a.getByTestId('composer').fill('Right before the reload')
    await a.getByTestId('composer').press('Enter')
    await message(a, 'Right before the reload').waitFor()
    await a.reload()

    await message(bob.page, 'Right before the reload').waitFor()
    await expect.poll(() => pendingCount(a)).toBe(0)
    const expected = ['Right before the reload']
    await expect.poll(() => bodies(a)).toEqual(expected)
    expect(await bodies(bob.page)).toEqual(expected)
    expect(await storedBodies(bob.page, roomId)).toEqual(expected)
    expect(await a.getByTestId('composer').inputValue()).toBe('')
  })

  it('a send whose answer never came before the app was closed, deleted after it opens again offline, is deleted for the other person too', async () => {
    const { alice, roomId, a, b } = await beforeTheTunnel('lost-answer', ['Alice Lost', 'Bob Lost'])

    // Alice's socket from here on: once her next send is out, nothing the
    // server says reaches her page over that socket (the server still gets
    // the send; a later page's socket is heard again); while she has no
    // network, no socket opens.
    let deafAfterSend = false
    let deaf: Relayed | undefined
    let noNetwork = false
    const sockets = await relaySockets(alice.context, {
      fromPage(text, socket) {
        if (deafAfterSend && text.includes('"messages.send"')) deaf ??= socket
        return true
      },
      fromServer: (_text, socket) => socket !== deaf,
      refuse: () => noNetwork,
    })
    await reloadThroughRelay(a, sockets)

    deafAfterSend = true
    await say(a, 'Sent into the void')
    await message(b, 'Sent into the void').waitFor()
    expect(sentOver(sockets, 'messages.send')).toBe(1)

    // The app is closed before the answer, and opened again with no network.
    noNetwork = true
    await alice.context.setOffline(true)
    try {
      await a.reload()
      // Honest: it may well be in the room already.
      expect(await deleteOnScreen(a, 'Sent into the void')).toContain(
        'It may already have reached the room: it will be removed there too.',
      )
    } finally {
      noNetwork = false
      await alice.context.setOffline(false)
    }

    // Back online: Bob sees it go, and the server no longer shows it.
    await deletedForBob(b, roomId)
    await expect.poll(() => bodies(a)).toEqual(['Before the tunnel'])
  })

  it('a send whose message came back but whose answer did not, deleted offline, shows as being deleted and is deleted once online', async () => {
    const { alice, roomId, a, b } = await beforeTheTunnel('half-heard', ['Alice Half', 'Bob Half'])

    // Alice's socket from here on: the answer to her next send is held back
    // (the room's events are not); while she has no network, no socket opens.
    let dropAnswer = false
    const answerIds = new Set<unknown>()
    let noNetwork = false
    const sockets = await relaySockets(alice.context, {
      fromPage(text) {
        if (dropAnswer && text.includes('"messages.send"')) {
          dropAnswer = false
          for (const req of wsFrames(text)) answerIds.add(req.id)
        }
        return true
      },
      fromServer: (text) => !wsFrames(text).some((r) => answerIds.has(r.id)),
      refuse: () => noNetwork,
    })
    await reloadThroughRelay(a, sockets)

    dropAnswer = true
    await say(a, 'Heard but not answered')
    await message(b, 'Heard but not answered').waitFor()
    // On Alice's screen the message is the room's (its event came); the send still waits for its answer.
    await expect.poll(() => pendingCount(a)).toBe(0)
    expect(await storedOutbox(a)).toBe(1)

    noNetwork = true
    await cutNetwork(alice.context, sockets)
    try {
      await expect.poll(() => bannerState(a)).toBe('offline')
      expect(await deleteOnScreen(a, 'Heard but not answered')).toContain(
        'It may already have reached the room: it will be removed there too.',
      )
      // Shown as a delete on its way, not as a message still posted.
      expect(await a.getByTestId('message-status').allInnerTexts()).toEqual([
        'Waiting for connection — will delete it automatically',
      ])
    } finally {
      noNetwork = false
      await alice.context.setOffline(false)
    }

    await deletedForBob(b, roomId)
    await expect.poll(() => a.getByTestId('message-status').count()).toBe(0)
    expect(await bodies(a)).toEqual(['Before the tunnel'])
  })

  it("the user's tabs show the same outbox: written offline in one, it waits in the other; deleted in one, it goes from both and is never sent", async () => {
    const { alice, roomId, a, b } = await beforeTheTunnel('two-tabs', ['Alice Tabs', 'Bob Tabs'])

    await alice.context.setOffline(true)
    const tab = await alice.context.newPage()
    try {
      await expect.poll(() => bannerState(a)).toBe('offline')
      await say(a, 'Wrong room, sorry')
      await expect.poll(() => storedOutbox(a)).toBe(1)
      // A second tab, opened now, reads the waiting message into its own queue.
      await tab.goto(`/rooms/${roomId}`)
      await message(tab, 'Wrong room').waitFor()

      // Written in the second tab: the first shows it waiting too, without a reload.
      await say(tab, 'From the second tab')
      await message(a, 'From the second tab').waitFor()
      expect(await message(a, 'From the second tab').getAttribute('data-pending')).toBe('true')

      // Deleted in the first tab: it never left, so it is dropped, from the second tab too.
      await deleteOnScreen(a, 'Wrong room')
      await expect.poll(() => storedOutbox(a)).toBe(1)
      await message(tab, 'Wrong room').waitFor({ state: 'detached' })
    } finally {
      await alice.context.setOffline(false)
    }

    // Both tabs are online again: what is left is sent once, the deleted one never.
    await expect
      .poll(() => storedBodies(b, roomId), { timeout: 20_000 })
      .toEqual(['Before the tunnel', 'From the second tab'])
    await expect.poll(() => bodies(b)).toEqual(['Before the tunnel', 'From the second tab'])
    for (const page of [a, tab]) {
      await expect.poll(() => pendingCount(page)).toBe(0)
      expect(await message(page, 'Wrong room').count()).toBe(0)
    }
    await tab.close()
  })

  it("a message one tab is sending, deleted in the user's other tab, is deleted for the other person too", async () => {
    const { alice, roomId, a, b } = await beforeTheTunnel('slow-link', ['Alice Slow', 'Bob Slow'])

    /** A send from either tab, held on its way to the server: a slow link. */
    const held: { page: Page; go: () => void }[] = []
    let slow = true
    let noNetwork = false
    const sockets: Relayed[] = []
    const slowSends = async (page: Page) => {
      const relayed = await relaySockets(page, {
        fromPage(text, socket) {
          if (!slow || !text.includes('"messages.send"')) return true
          held.push({ page, go: () => socket.toServer.send(text) })
          return false
        },
        refuse: () => noNetwork,
      })
      await page.route('**/trpc/messages.send**', (route) => {
        // Routed requests skip the emulated offline: fail them as it would.
        if (noNetwork) void route.abort('internetdisconnected')
        else if (slow) held.push({ page, go: () => void route.continue() })
        else void route.continue()
      })
      return relayed
    }
    sockets.push(...(await slowSends(a)))
    await a.reload() // its socket now goes through the test
    await message(a, 'Before the tunnel').waitFor()
    const tab = await alice.context.newPage()
    await slowSends(tab)

    noNetwork = true
    await cutNetwork(alice.context, sockets)
    try {
      await expect.poll(() => bannerState(a)).toBe('offline')
      await say(a, 'Not for this room')
      await expect.poll(() => storedOutbox(a)).toBe(1)
      // A second tab, opened now, reads the waiting message into its own queue.
      await tab.goto(`/rooms/${roomId}`)
      await message(tab, 'Not for this room').waitFor()
      expect(held).toEqual([])
    } finally {
      noNetwork = false
      await alice.context.setOffline(false)
    }

    // Back online, one of the tabs sends it; in the other, Alice deletes it.
    await expect.poll(() => held.length, { timeout: 20_000 }).toBe(1)
    const other = held[0]!.page === a ? tab : a
    await deleteOnScreen(other, 'Not for this room')

    // The send arrives after all, and the delete follows it.
    slow = false
    held[0]!.go()
    await deletedForBob(b, roomId)
    for (const page of [a, tab]) await expect.poll(() => bodies(page)).toEqual(['Before the tunnel'])
    await expect.poll(() => storedOutbox(a)).toBe(0)
    await tab.close()
  })

  it('opened offline and back online after long enough for a long backoff, the live connection is back within seconds', async () => {
    const { page, context } = await e2e.signUp('Tess Tunnel')
    await createRoom(page, 'tunnel')
    await waitForServiceWorker(page)
    let tries = 0
    page.on('websocket', () => tries++)

    await context.setOffline(true)
    try {
      await page.reload() // from the service worker; each try to open the socket fails
      await expect.poll(() => bannerState(page)).toBe('offline')
      // Five tries failed: backed off as if the server were down, the next would wait 6.4–9.6 s more.
      await expect.poll(() => tries, { timeout: 20_000 }).toBeGreaterThanOrEqual(5)
    } finally {
      await context.setOffline(false)
    }
    // The banner goes once the socket is open.
    await expect.poll(() => bannerState(page)).toBeNull()
  })

  it('read markers and typing go over the open socket; a marker whose socket drops is sent again', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'socket-marks', [
      'Alice Marker',
      'Bob Marker',
    ])
    const a = alice.page
    const b = bob.page

    // Bob's socket from here on: what he sends on it, and the next read marker lost with the socket.
    let dropNextMark = false
    const sockets = await relaySockets(bob.context, {
      fromPage(text, socket) {
        if (!dropNextMark || !text.includes('"rooms.markRead"')) return true
        // The server never hears of it, and the page's socket drops.
        dropNextMark = false
        socket.toPage.close({ code: 4000, reason: 'dropped by the test' })
        return false
      },
    })
    const overHttp: string[] = []
    b.on('request', (r) => {
      if (/rooms\.markRead|typing\.start/.test(r.url())) overHttp.push(r.url())
    })
    const sentOnSocket = (path: string) => sentOver(sockets, path)
    const bobsUnread = () => unreadOnServer(b, roomId)
    await b.reload()
    await openRoom(b, 'socket-marks')
    await b.getByTestId('composer').waitFor()
    await expect.poll(() => bannerState(b)).toBeNull()
    await expect.poll(() => sockets[0]?.sent.length ?? 0).toBeGreaterThan(0)

    // Bob types: Alice sees it, and it went over his socket.
    await b.getByTestId('composer').pressSequentially('hm', { delay: 20 })
    await expect.poll(() => typingText(a)).toBe('Bob Marker is typing…')
    expect(sentOnSocket('typing.start')).toBe(1)

    // Alice writes while Bob has the room open: his read marker reaches the server over the socket.
    await say(a, 'first')
    await message(b, 'first').waitFor()
    // (A marker waits up to 5 s while the room is on screen: useMarkRead.)
    await expect.poll(bobsUnread, { timeout: 15_000 }).toBe(0)
    expect(sentOnSocket('rooms.markRead')).toBeGreaterThanOrEqual(1)
    expect(overHttp).toEqual([])

    // The next marker is lost with the socket: Bob's page already shows the room as read,
    // so only the marker sent again when the socket is back brings the server's count to 0.
    const marksBefore = sentOnSocket('rooms.markRead')
    dropNextMark = true
    await say(a, 'second')
    await message(b, 'second').waitFor()
    await expect
      .poll(() => sentOnSocket('rooms.markRead'), { timeout: 20_000 })
      .toBeGreaterThanOrEqual(marksBefore + 2)
    await expect.poll(bobsUnread).toBe(0)
    expect(overHttp).toEqual([])
  })

  it('a room read on a phone just before the signal went, and left offline, stays read once the connection is back', async () => {
    const alice = await e2e.signUp('Alice Train')
    const bob = await e2e.signUp('Bob Train', PHONE)
    const roomId = await createRoom(alice.page, 'read-in-the-tunnel')
    await invite(alice.page, bob.username)
    await say(alice.page, 'News before the tunnel')
    const b = bob.page
    // Every read marker Bob's page sends, over its socket or HTTP (seen, not held).
    const marks: string[] = []
    b.on('websocket', (ws) =>
      ws.on('framesent', (f) => {
        if (String(f.payload).includes('"rooms.markRead"')) marks.push('socket')
      }),
    )
    b.on('request', (r) => {
      if (r.url().includes('rooms.markRead')) marks.push('http')
    })
    await b.goto('/')
    const badge = roomItem(b, 'read-in-the-tunnel').getByTestId('unread-badge')
    await badge.waitFor()

    // Read, and the signal goes before the marker does (it waits up to 5 s while
    // the room is on screen: useMarkRead); Bob goes back to his rooms offline.
    await openRoom(b, 'read-in-the-tunnel')
    await bob.context.setOffline(true)
    try {
      expect(marks).toEqual([]) // the marker had not gone before the signal
      await expect.poll(() => bannerState(b)).toBe('offline')
      await b.getByRole('link', { name: 'Back to rooms' }).click()
      await roomItem(b, 'read-in-the-tunnel').waitFor()
      expect(await badge.count()).toBe(0)
    } finally {
      await bob.context.setOffline(false)
    }
    // Back online with no room open, the marker still goes: the server and a reload agree it was read.
    await expect.poll(() => unreadOnServer(b, roomId), { timeout: 15_000 }).toBe(0)
    await expect.poll(() => badge.count()).toBe(0)
    await b.reload()
    await roomItem(b, 'read-in-the-tunnel').waitFor()
    expect(await badge.count()).toBe(0)
  })

  it('after its socket drops, the room list catches up over the new socket: what was missed shows in the badge', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'socket-list', [
      'Alice List',
      'Bob List',
    ])
    const b = bob.page
    await createRoom(b, 'socket-list-elsewhere')
    const badge = roomItem(b, 'socket-list').getByTestId('unread-badge')

    // Bob's socket from here on; while he is deaf, the server's frames to him are lost.
    let deaf = false
    const sockets = await relaySockets(bob.context, { fromServer: () => !deaf })
    await b.reload()
    await roomItem(b, 'socket-list').waitFor()
    await expect.poll(() => sockets.length).toBe(1)
    await expect.poll(() => bannerState(b)).toBeNull()
    const listsOverHttp: string[] = []
    b.on('request', (r) => {
      if (r.url().includes('rooms.list')) listsOverHttp.push(r.url())
    })

    // Three messages Bob's page never hears of: no badge.
    deaf = true
    await sendElsewhere(alice.page, roomId, ['one', 'two', 'three'])
    expect(await badge.count()).toBe(0)

    // His socket drops and the page opens another: the list it fetches again has them.
    sockets[0]!.toPage.close({ code: 4000, reason: 'dropped by the test' })
    deaf = false
    await expect.poll(() => badge.innerText().catch(() => ''), { timeout: 15_000 }).toBe('3')
    expect(sockets.length).toBe(2)
    expect(sentOver([sockets[1]!], 'rooms.list')).toBe(1)
    expect(listsOverHttp).toEqual([])
  })

  it('a room list asked for again after its socket drops keeps what the page heard while the answer was on its way: a room added, a newer unread count', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'asked-list', [
      'Alice Asked',
      'Bob Asked',
    ])
    const a = alice.page
    const b = bob.page
    await createRoom(b, 'asked-list-elsewhere')

    // Bob's sockets from here on. While he is deaf, the server's frames to him
    // are lost; on his second socket, the answer to rooms.list waits in `held`.
    let deaf = false
    const listCalls = new Set<unknown>()
    const userStreams = new Set<unknown>()
    let userStreamStarted = false
    const held: string[] = []
    const sockets = await relaySockets(bob.context, {
      fromPage: (text) => {
        for (const call of wsFrames(text)) {
          if (call.params?.path === 'rooms.list') listCalls.add(call.id)
          if (call.params?.path === 'events.user') userStreams.add(call.id)
        }
        return true
      },
      fromServer: (text, socket) => {
        if (deaf) return false
        if (socket !== sockets[1]) return true
        const answers = wsFrames(text) as { id?: unknown; result?: { type?: string } }[]
        if (answers.some((r) => userStreams.has(r.id) && r.result?.type === 'started'))
          userStreamStarted = true
        if (!answers.some((r) => listCalls.has(r.id))) return true
        held.push(text)
        return false
      },
    })
    await b.reload()
    await roomItem(b, 'asked-list').waitFor()
    await expect.poll(() => sockets.length).toBe(1)
    await expect.poll(() => bannerState(b)).toBeNull()

    // While Bob is deaf the room is renamed and gets a message: only a fresh list brings them.
    deaf = true
    await mutate(a, 'rooms.update', { roomId, name: 'asked-list-renamed' })
    await sendElsewhere(a, roomId, ['one'])

    // His socket drops; the new one asks for the list, and its answer (read by now) is held.
    sockets[0]!.toPage.close({ code: 4000, reason: 'dropped by the test' })
    deaf = false
    await expect.poll(() => held.length, { timeout: 15_000 }).toBe(1)
    await expect.poll(() => userStreamStarted).toBe(true)

    // Meanwhile his stream brings a second message and a room Alice adds him to.
    await sendElsewhere(a, roomId, ['two'])
    await expect.poll(() => unreadBadge(b, 'asked-list')).toBe('2')
    const newer = await mutate<{ id: string }>(a, 'rooms.create', {
      name: 'asked-list-newer',
      visibility: 'private',
    })
    await mutate(a, 'rooms.invite', { roomId: newer.id, username: bob.username })
    await roomItem(b, 'asked-list-newer').waitFor()

    // The answer arrives: the new name is in it, and what he heard meanwhile stays.
    expect(held.length).toBe(1)
    sockets[1]!.toPage.send(held[0]!)
    await roomItem(b, 'asked-list-renamed').waitFor()
    expect(await unreadBadge(b, 'asked-list-renamed')).toBe('2')
    expect(await roomItem(b, 'asked-list-newer').count()).toBe(1)
  })

  it('after its socket drops, the member list catches up: someone who left meanwhile no longer shows online', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'socket-members', [
      'Alice Members',
      'Bob Members',
    ])
    const a = alice.page
    const { user: bobUser } = await query<{ user: { id: string } }>(bob.page, 'auth.me')
    const bobInList = a.locator(`[data-testid="member-item"][data-user-id="${bobUser.id}"]`)

    // Alice's socket from here on; while she is deaf, the server's frames to her are lost.
    let deaf = false
    const lost: string[] = []
    const sockets = await relaySockets(alice.context, {
      fromServer: (text) => (deaf ? (lost.push(text), false) : true),
    })
    await a.goto(`/rooms/${roomId}`)
    await expect.poll(() => sockets.length).toBe(1)
    await expect.poll(() => bobInList.getAttribute('data-online')).toBe('true')

    // Bob closes Parley; the news of it reaches Alice's socket and is lost there.
    deaf = true
    await bob.context.close()
    const bobOffline = (text: string) =>
      text.includes('"presence"') && text.includes(bobUser.id) && text.includes('"offline"')
    await expect.poll(() => lost.some(bobOffline)).toBe(true)
    expect(await bobInList.getAttribute('data-online')).toBe('true')

    // Every state his entry shows from here on.
    await bobInList.evaluate((el) => {
      const shown: (string | null)[] = []
      ;(window as unknown as { bobShown: typeof shown }).bobShown = shown
      new MutationObserver(() => shown.push(el.getAttribute('data-online'))).observe(el, {
        attributes: true,
        attributeFilter: ['data-online'],
      })
    })

    // Her socket drops and the page opens another: the list it fetches again has him offline.
    sockets[0]!.toPage.close({ code: 4000, reason: 'dropped by the test' })
    deaf = false
    await expect.poll(() => sockets.length, { timeout: 15_000 }).toBe(2)
    await expect
      .poll(() => bobInList.getAttribute('data-online'), { timeout: 15_000 })
      .toBe('false')
    expect(await a.getByTestId('member-list').locator('h2').innerText()).toMatch(/1 online$/)
    // Not known, then offline: never online again, as the list from before the drop said
    // for a moment between the new socket opening and the fresh list landing.
    expect(await a.evaluate(() => (window as unknown as { bobShown: string[] }).bobShown)).toEqual([
      'unknown',
      'false',
    ])
  })

  it('offline, the member list says who is in the room, not who is online: that may change unseen', async () => {
    const { alice, bob } = await twoInPrivateRoom(e2e, 'presence-offline', [
      'Alice Presence',
      'Bob Presence',
    ])
    const a = alice.page
    const { user: bobUser } = await query<{ user: { id: string } }>(bob.page, 'auth.me')
    const list = a.getByTestId('member-list')
    const heading = () => list.locator('h2').innerText()
    const bobInList = list.locator(`[data-testid="member-item"][data-user-id="${bobUser.id}"]`)
    await expect.poll(() => bobInList.getAttribute('data-online')).toBe('true')
    expect(await heading()).toMatch(/2 online$/)

    await alice.context.setOffline(true)
    try {
      await expect.poll(() => bannerState(a)).toBe('offline')
      // Nobody green, nobody grey, nothing said: the count of members only.
      await expect.poll(() => bobInList.getAttribute('data-online')).toBe('unknown')
      expect(await heading()).toMatch(/^Members\s+2$/)
      expect(await list.locator('.dot').count()).toBe(0)
      expect(await list.textContent()).not.toMatch(/online|offline/)
      // Meanwhile Bob closes Parley, which she cannot hear.
      await bob.context.close()
    } finally {
      await alice.context.setOffline(false)
    }
    await expect
      .poll(() => bobInList.getAttribute('data-online'), { timeout: 15_000 })
      .toBe('false')
    expect(await heading()).toMatch(/1 online$/)
  })

  it('a server that moves the page to a new socket (a graceful restart) leaves it online, sending over the new one', async () => {
    const { page, context } = await e2e.signUp('Rhea Restart')
    const roomId = await createRoom(page, 'restarts')
    const sockets = await relaySockets(context)
    await page.reload()
    await page.waitForURL(`**/rooms/${roomId}`)
    await page.getByTestId('composer').waitFor()
    await expect.poll(() => sockets.length).toBe(1)
    await expect.poll(() => bannerState(page)).toBeNull()

    // From here on, a banner is noticed however briefly it shows.
    await page.evaluate(() => {
      const seen = window as unknown as { bannerShown: boolean }
      seen.bannerShown = false
      new MutationObserver(() => {
        if (document.querySelector('[data-testid="connection-banner"]')) seen.bannerShown = true
      }).observe(document.body, { childList: true, subtree: true })
    })
    // What a node sends every client as it shuts down: tRPC's client opens a new socket, then retires this one.
    sockets[0]!.toPage.send(JSON.stringify({ id: null, method: 'reconnect' }))
    await expect.poll(() => sockets.length).toBe(2)
    await expect.poll(() => sockets[0]!.closed).toBe(true)
    // Still online: a message goes over the new socket, and no banner showed meanwhile.
    await say(page, 'after the restart')
    await message(page, 'after the restart').waitFor()
    await expect.poll(() => pendingCount(page)).toBe(0)
    expect(await page.evaluate(() => (window as unknown as { bannerShown: boolean }).bannerShown)).toBe(false)
    expect(sockets.map((s) => sentOver([s], 'messages.send'))).toEqual([0, 1])
  })
})
