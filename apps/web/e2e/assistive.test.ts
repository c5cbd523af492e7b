/**
 * Touch and assistive technology: on a touch screen every control is a
 * finger's size (40 px or more each way); a refused message says so in the
 * room list too, in words; the members drawer keeps the
 * keyboard inside it until it closes; screen readers hear a new message from
 * someone else in one line, but no history on a room switch or an older page,
 * and a search's count rather than every result again; the connection's
 * status is said when it drops and when it comes back; the directory says
 * when it needs a connection, and offers Retry when it fails to load.
 */
import type { Locator, Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  bannerState,
  bodies,
  createRoom,
  dismissOfflineReady,
  invite,
  message,
  mutate,
  openRoom,
  PASSWORD,
  PHONE,
  roomItem,
  say,
  sendElsewhere,
  signIn,
  twoInPrivateRoom,
  useE2E,
  waitForServiceWorker,
  wsFrames,
} from './harness.ts'

const e2e = useE2E()

/** In the page: records everything the connection banner and the status region show. */
function recordConnectionWords(): void {
  const seen: string[] = []
  Object.assign(window, { seen })
  new MutationObserver(() => {
    const banner = document.querySelector('[data-testid="connection-banner"]')
    const said = document.querySelector('[data-testid="connection-status"]')?.textContent?.trim()
    if (banner) seen.push(`banner: ${banner.textContent!.trim()}`)
    if (said) seen.push(`said: ${said}`)
  }).observe(document, { childList: true, subtree: true, characterData: true })
}
const recorded = (page: Page) => page.evaluate(() => (window as unknown as { seen: string[] }).seen)

/**
 * Records what the connection banner and the status region show on the page
 * from now on (until it navigates); resolves to a function that reads it.
 */
async function connectionWords(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(recordConnectionWords)
  return () => recorded(page)
}

/** `target` is at least 40 px wide and tall: what a finger can hit. */
async function expectFingerSized(target: Locator, what: string): Promise<void> {
  const { width, height } = (await target.boundingBox())!
  // Soft: one run names every control that is too small.
  expect.soft({ width, height }, what).toEqual({
    width: Math.max(width, 40),
    height: Math.max(height, 40),
  })
}

const REFUSED = {
  message: 'Refused',
  code: -32600,
  data: { code: 'BAD_REQUEST', httpStatus: 400, path: 'messages.send' },
}

/**
 * The server refuses every message `page` sends from now on, for good (a
 * 400), over HTTP and over the socket (which takes a reload to route).
 */
async function refuseSends(page: Page): Promise<void> {
  await page.route(/\/trpc\/[^?]*messages\.send/, async (route) => {
    const paths = new URL(route.request().url()).pathname.slice('/trpc/'.length).split(',')
    await route.fulfill({
      status: 400,
      contentType: 'application/json',
      body: JSON.stringify(paths.map(() => ({ error: REFUSED }))),
    })
  })
  await page.routeWebSocket(/\/trpc$/, (ws) => {
    const server = ws.connectToServer()
    ws.onMessage((frame) => {
      const calls = wsFrames(String(frame))
      const sends = calls.filter((c) => c.params?.path === 'messages.send')
      if (!sends.length) return server.send(frame)
      for (const send of sends) ws.send(JSON.stringify({ id: send.id, error: REFUSED }))
      const rest = calls.filter((c) => !sends.includes(c))
      if (rest.length) server.send(JSON.stringify(rest))
    })
  })
  await page.reload()
  await page.getByTestId('composer').waitFor()
}

/**
 * From now on, records what the live regions in the page's main area say:
 * their text each time something with words is added to them (what a screen
 * reader announces). `heard(page)` reads the record.
 */
async function listen(page: Page): Promise<void> {
  await page.evaluate(() => {
    const said: string[] = []
    ;(window as unknown as { said: string[] }).said = said
    const live = '[aria-live]:not([aria-live="off"]), [role="log"], [role="status"], [role="alert"]'
    new MutationObserver((records) => {
      for (const r of records) {
        const at = r.target instanceof Element ? r.target : r.target.parentElement
        const region = at?.closest(live)
        if (!region?.closest('main')) continue
        const words =
          r.type === 'characterData' || [...r.addedNodes].some((n) => n.textContent?.trim())
        if (words) said.push(region.textContent?.trim() ?? '')
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true })
  })
}
const heard = (page: Page) => page.evaluate(() => (window as unknown as { said: string[] }).said)

describe('assistive', () => {
  it('phone: send, reaction chips, the message toolbar, the picker and Retry/Discard are 40 px or more each way', async () => {
    const { page } = await e2e.signUp('Tia Touch', PHONE)
    await createRoom(page, 'touch-room')
    await page.getByTestId('composer').fill('tap me')
    await expectFingerSized(page.getByTestId('send-button'), 'the send button')
    await page.getByTestId('composer').press('Enter')

    const sent = message(page, 'tap me')
    // Reactions are for what the server has.
    await expect.poll(() => sent.getAttribute('data-pending')).toBe('false')
    await sent.tap()
    const react = sent.getByTestId('react-button')
    await expectFingerSized(react, 'Add reaction')
    await expectFingerSized(sent.getByTestId('edit-button'), 'Edit message')
    await react.tap()
    const option = page.getByTestId('reaction-option').first()
    await expectFingerSized(option, 'a reaction option')
    await option.tap()
    const chip = sent.getByTestId('reaction')
    await chip.waitFor()
    await expectFingerSized(chip, 'a reaction chip')

    await refuseSends(page)
    await say(page, 'refused one')
    const retry = message(page, 'refused one').getByTestId('outbox-retry')
    await retry.waitFor()
    await expectFingerSized(retry, 'Retry')
    await expectFingerSized(message(page, 'refused one').getByTestId('outbox-discard'), 'Discard')
  })
  it("a message the server refused says so in the room list too, in words a screen reader hears; discarded, the room's last is what it was", async () => {
    const { page } = await e2e.signUp('Rita Refused')
    await createRoom(page, 'refusals', { topic: 'Where sends bounce' })
    await say(page, 'this one went')
    // Sent, not only out of the composer: still on its way, it was refused with the next one.
    await expect
      .poll(() => message(page, 'this one went').getAttribute('data-pending'))
      .toBe('false')
    await refuseSends(page)
    await say(page, 'refused one')
    await message(page, 'refused one').getByTestId('outbox-retry').waitFor()

    const room = roomItem(page, 'refusals')
    const last = room.getByTestId('room-last-message')
    await expect.poll(() => last.innerText()).toBe('You: refused one')
    await room.getByTestId('room-unsent').waitFor()
    expect(await room.innerText()).toContain('Not sent:')

    await message(page, 'refused one').getByTestId('outbox-discard').click()
    await room.getByTestId('room-unsent').waitFor({ state: 'detached' })
    expect(await last.innerText()).toBe('You: this one went')
  })

  it('800 px wide: Tab stays inside the members drawer, and Escape hands the focus back to its toggle', async () => {
    const narrow = { viewport: { width: 800, height: 900 } }
    const [owner, guest] = await Promise.all([
      e2e.signUp('Nina Narrow', narrow),
      e2e.signUp('Gus Guest', narrow),
    ])
    const page = owner.page
    await createRoom(page, 'drawer-tabs')
    await invite(page, guest.username)
    await page.getByTestId('members-toggle').click()
    const drawer = page.getByTestId('member-list')
    // Something to Tab between: the close button and the guest's Manage.
    await drawer.getByTestId('member-manage').waitFor()

    const focused = new Set<string>()
    for (let i = 0; i < 15; i++) {
      await page.keyboard.press(i % 5 === 4 ? 'Shift+Tab' : 'Tab')
      const where = await page.evaluate(() => {
        const el = document.activeElement
        const inside = !!el?.closest('[data-testid="member-list"]')
        return {
          inside,
          name: `${el?.tagName} ${el?.getAttribute('aria-label') ?? el?.textContent?.trim()}`,
        }
      })
      expect(where.inside, `Tab ${i + 1} went to ${where.name}`).toBe(true)
      focused.add(where.name)
    }
    expect(focused.size).toBeGreaterThan(1)

    await page.keyboard.press('Escape')
    await drawer.waitFor({ state: 'detached' })
    expect(
      await page.getByTestId('members-toggle').evaluate((el) => el === document.activeElement),
    ).toBe(true)
  })
  it('a screen reader hears a new message from someone else, and nothing of a room switch or an older page', async () => {
    const {
      alice,
      bob,
      roomId: firstId,
    } = await twoInPrivateRoom(e2e, 'quiet-one', ['Alice Martin', 'Bob Chen'])
    const secondId = await createRoom(alice.page, 'quiet-two', { private: true })
    await invite(alice.page, bob.username)
    await sendElsewhere(alice.page, firstId, ['in the first room'])
    // One more than a page (50): reading back loads an older page.
    await sendElsewhere(
      alice.page,
      secondId,
      Array.from({ length: 51 }, (_, i) => `old ${i + 1}`),
    )
    // "Works offline" covers the top of the list.
    await dismissOfflineReady(bob.page)

    await openRoom(bob.page, 'quiet-one')
    await listen(bob.page)
    await openRoom(bob.page, 'quiet-two')
    await message(bob.page, 'old 51').waitFor()
    expect(await bodies(bob.page)).not.toContain('old 1')
    await bob.page.getByTestId('message-list').evaluate((el) => (el.scrollTop = 0))
    await expect.poll(() => bodies(bob.page)).toContain('old 1')
    expect(await heard(bob.page), 'a room switch and an older page').toEqual([])

    await sendElsewhere(alice.page, secondId, ['hello **Bob**'])
    await message(bob.page, 'hello Bob').waitFor()
    await expect.poll(() => heard(bob.page)).toEqual(['Alice Martin: hello Bob'])
    // Our own message is not read back to us.
    await say(bob.page, 'hi Alice')
    await message(bob.page, 'hi Alice').and(bob.page.locator('[data-pending="false"]')).waitFor()
    expect(await heard(bob.page)).toEqual(['Alice Martin: hello Bob'])
  })

  it('a message too long to send is heard as such, the countdown before it is not (it would speak at every key)', async () => {
    const { page } = await e2e.signUp('Lou Long')
    await createRoom(page, 'long-words')
    const composer = page.getByTestId('composer')
    const length = page.getByTestId('composer-length')
    await listen(page)
    await composer.fill('x'.repeat(3_990))
    await composer.press('End')
    await page.keyboard.type('yz')
    await expect.poll(() => length.innerText()).toBe('8')
    // A paste past the limit, with nothing said about length just before it.
    await composer.fill('')
    await composer.focus()
    await page.keyboard.insertText('x'.repeat(4_005))
    await expect.poll(() => heard(page)).toEqual(['Too long by 5 characters'])
    expect(await page.getByTestId('send-button').isDisabled()).toBe(true)
  })

  it('a search in the directory is announced as a count, not as every result again', async () => {
    const name = `lantern-${Date.now().toString(36)}`
    const alice = await e2e.signUp('Alice Martin')
    await createRoom(alice.page, name, { topic: 'Night walks and the lights on them' })
    const { page } = await e2e.signUp('Bob Chen')
    await page.goto('/browse')
    await page.getByTestId('browse-search').waitFor()
    await listen(page)
    await page.getByTestId('browse-search').fill(name)
    await page
      .getByTestId('browse-results')
      .getByText('Night walks and the lights on them')
      .waitFor()
    await expect.poll(() => heard(page)).toContain(`1 room found for “${name}”`)
    for (const said of await heard(page)) expect(said).toMatch(/^(\d+ rooms?|No rooms) found/)
  })
  it('the connection status is a region that is there before the network goes, and says offline and back online', async () => {
    const { page, context } = await e2e.signUp('Olga Online')
    const status = page.getByTestId('connection-status')
    expect(await status.getAttribute('role')).toBe('status')
    // Its words, each time they change, in the same element throughout.
    await status.evaluate((region) => {
      const words: string[] = []
      Object.assign(window, { region, words })
      new MutationObserver(() => words.push(region.textContent!.trim())).observe(region, {
        childList: true,
        subtree: true,
        characterData: true,
      })
    })
    const words = () => page.evaluate(() => (window as unknown as { words: string[] }).words)

    await context.setOffline(true)
    await expect.poll(words).toContainEqual(expect.stringMatching(/^Offline/))
    await context.setOffline(false)
    await expect.poll(words).toContain('Back online')
    expect(
      await status.evaluate((el) => el === (window as unknown as { region: Element }).region),
    ).toBe(true)
  })
  it('signing in and out replaces the socket without a word: no "Reconnecting…" banner, nothing said', async () => {
    const { page } = await e2e.newPage()
    // Each socket the page opens, and whether the server has answered on it.
    const sockets: { answered: boolean }[] = []
    page.on('websocket', (ws) => {
      const socket = { answered: false }
      sockets.push(socket)
      ws.on('framereceived', () => (socket.answered = true))
    })
    await page.goto('/signup')
    const seen = await connectionWords(page)

    await page.getByTestId('auth-username').fill(`quiet${Date.now().toString(36)}`)
    await page.getByTestId('auth-display-name').fill('Quinn Quiet')
    await page.getByTestId('auth-password').fill(PASSWORD)
    await page.getByTestId('auth-submit').click()
    await page.getByTestId('room-list').waitFor({ state: 'attached' })
    // The signed-in socket is open and answering (its events.user stream started).
    await expect.poll(() => sockets[1]?.answered).toBe(true)
    expect(await seen()).toEqual([])

    // Sign-out's answer comes late: the server, which closes the ended session's socket as it
    // answers, has long closed it when the app replaces it.
    await page.route('**/trpc/auth.logout*', async (route) => {
      const response = await route.fetch()
      await new Promise((resolve) => setTimeout(resolve, 500))
      await route.fulfill({ response })
    })
    await page.getByTestId('sign-out').click()
    await page.getByTestId('auth-username').waitFor()
    // Answered (the pending sign-out cleared), the app replaces the socket at once: nothing may
    // show in the moments after either.
    await expect
      .poll(() => page.evaluate(() => localStorage.getItem('parley:logout-pending')))
      .toBeNull()
    await expect.poll(() => sockets.length).toBeGreaterThanOrEqual(3)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await seen()).toEqual([])
  })

  it('signed out everywhere from another device: the sign-in form, without "Reconnecting…" or a word', async () => {
    const alice = await e2e.signUp('Sam Everywhere')
    const { page } = alice
    await page.goto('/') // the room list, its socket open and answering
    await page.getByTestId('room-list').waitFor({ state: 'attached' })
    await expect.poll(() => bannerState(page)).toBeNull()
    const seen = await connectionWords(page)

    const other = await e2e.newPage()
    await signIn(other.page, alice.username)
    await mutate(other.page, 'auth.logoutAll', undefined)

    await page.getByTestId('auth-username').waitFor()
    // The server closed the socket as it ended the session (4001); a dropped
    // socket would show "Reconnecting…" until it is back, within a second.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(await seen()).toEqual([])
    expect(await bannerState(page)).toBeNull()
  })

  it("an offline start says one thing, for what it shows: never the other state's words first", async () => {
    // Signed in: the saved messages.
    const bob = await e2e.signUp('Bob Chen')
    await waitForServiceWorker(bob.page)
    await bob.context.addInitScript(recordConnectionWords)
    await bob.context.setOffline(true)
    try {
      await bob.page.reload()
      await bob.page.getByTestId('room-list').waitFor({ state: 'attached' })
      await expect.poll(() => bannerState(bob.page)).toBe('offline')
      expect(new Set(await recorded(bob.page))).toEqual(
        new Set([
          'banner: Offline — showing saved messages',
          'said: Offline — showing saved messages',
        ]),
      )
    } finally {
      await bob.context.setOffline(false)
    }

    // Signed out: the sign-in form, which needs the server.
    const { context, page } = await e2e.newPage()
    await page.goto('/signin')
    await waitForServiceWorker(page)
    await context.addInitScript(recordConnectionWords)
    await context.setOffline(true)
    try {
      await page.reload()
      await page.getByTestId('auth-username').waitFor()
      await expect.poll(() => bannerState(page)).toBe('offline')
      expect(new Set(await recorded(page))).toEqual(
        new Set([
          'banner: Offline — signing in needs a connection',
          'said: Offline — signing in needs a connection',
        ]),
      )
    } finally {
      await context.setOffline(false)
    }
  })
  it('the directory opened offline with nothing saved says it needs a connection, not "Loading…"', async () => {
    const { page, context } = await e2e.signUp('Otto Offline')
    // Signing up lands in the directory: a new load forgets it.
    await page.goto('/')
    await page.getByTestId('room-list').waitFor()
    await context.setOffline(true)
    await expect.poll(() => bannerState(page)).toBe('offline')
    await page.getByTestId('browse-link').click()
    await page.getByRole('heading', { name: 'Browse rooms' }).waitFor()
    await expect
      .poll(() =>
        page
          .getByTestId('offline-note')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/needs a connection/)
    expect(await page.getByText('Loading…').count()).toBe(0)
    // Back online it loads by itself.
    await context.setOffline(false)
    await page.getByTestId('offline-note').waitFor({ state: 'detached' })
    await expect.poll(() => page.getByTestId('browse-status').innerText()).toMatch(/found/)
  })

  it('a directory that fails to load says so, and Retry loads it', async () => {
    const name = `beacon-${Date.now().toString(36)}`
    const alice = await e2e.signUp('Alice Martin')
    await createRoom(alice.page, name)
    // Signing up lands in the directory: a new load (below) forgets it.
    const { page, context } = await e2e.signUp('Bob Chen')
    // The server fails `rooms.browse` (500) until healed; other queries in its batch are answered.
    let broken = true
    await context.route(/\/trpc\/[^?]*rooms\.browse/, async (route) => {
      const paths = new URL(route.request().url()).pathname.slice('/trpc/'.length).split(',')
      if (!broken) return route.continue()
      const answers = (await (await route.fetch()).json()) as unknown[]
      const error = {
        message: 'Internal server error',
        code: -32603,
        data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500, path: 'rooms.browse' },
      }
      await route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify(answers.map((a, i) => (paths[i] === 'rooms.browse' ? { error } : a))),
      })
    })
    await page.goto('/')
    await page.getByTestId('browse-link').click()
    const failure = page.getByTestId('browse-results').getByRole('alert')
    await expect.poll(() => failure.innerText().catch(() => '')).toMatch(/could not load/i)

    broken = false
    await page.getByTestId('browse-results').getByRole('button', { name: 'Retry' }).click()
    await page.getByTestId('browse-search').fill(name)
    await page.getByTestId('browse-results').getByText(name).waitFor()
    await failure.waitFor({ state: 'detached' })
  })
})
