/**
 * What sits on top of what: notices clear of the room's title and of the
 * composer (desktop and phone), and away from a room clear of the page's
 * heading and controls, and over a phone's open members drawer at the
 * bottom, clear of its header and rows; the members drawer on a phone closes on
 * Escape and on a tap outside it; a long topic opens on a tap; the reaction
 * picker of the latest message opens whole, above it, and a click or tap
 * elsewhere closes it; editing the latest message on a phone shows its
 * editor whole; a touch screen shows no keyboard hints; long names (a
 * message's time, someone typing, one's own account) fit a small phone, and
 * a narrow one's room header keeps its name, the rarer buttons under "More"; the composer grows and shrinks with its lines;
 * the message list sits by the composer, follows new messages and holds
 * still while someone reads back, with a button below that counts what came
 * meanwhile and takes them down to it.
 */
import type { Locator, Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { trpcInPage } from '@parley/testing/chromium'
import { bannerState, createRoom, holdAnswers, invite, message, mutate, openRoom, PHONE, query, removeFromRoom, roomItem, sendElsewhere, typingText, unreadBadge, unreadOnServer, useE2E, waitForSavedRoom } from './harness.ts'

const e2e = useE2E()

type Box = { x: number; y: number; width: number; height: number }
const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height

/**
 * The notice is on screen and covers neither the room's title nor its
 * composer. All three are measured at one moment: notices go by themselves.
 * With `ifShown`, a notice that is not there (or goes as it is measured) is
 * not checked.
 */
async function expectClear(page: Page, notice: Locator, { ifShown = false } = {}): Promise<void> {
  if (ifShown && !(await notice.count())) return
  const measured = notice.evaluate(
    (el) => {
      const box = (e: Element | null) => {
        const r = e!.getBoundingClientRect()
        return { x: r.x, y: r.y, width: r.width, height: r.height }
      }
      return {
        n: box(el),
        title: box(document.querySelector('[data-testid="room-title"]')),
        composer: box(document.querySelector('[data-testid="composer"]')),
      }
    },
    undefined,
    ifShown ? { timeout: 1_000 } : undefined,
  )
  const boxes = ifShown ? await measured.catch(() => null) : await measured
  if (!boxes) return
  const { n, title, composer } = boxes
  expect(
    overlaps(n, title),
    `the notice ${JSON.stringify(n)} covers the title ${JSON.stringify(title)}`,
  ).toBe(false)
  expect(n.y + n.height, 'the notice ends above the composer').toBeLessThan(composer.y)
  expect(n.x).toBeGreaterThanOrEqual(0)
  expect(n.x + n.width).toBeLessThanOrEqual(page.viewportSize()!.width)
}

/** Reading back: scrolls the message list until the message with `text` starts `offset` px below its top. */
function readBackTo(page: Page, text: string, offset = 30): Promise<void> {
  return page.getByTestId('message-list').evaluate(
    async (el, [text, offset]) => {
      const row = [...el.querySelectorAll('[data-testid="message-item"]')].find((r) =>
        r.textContent?.includes(text),
      )!
      const by = row.getBoundingClientRect().top - el.getBoundingClientRect().top - offset
      if (Math.abs(by) < 1) return
      // Done once the list has had its scroll event, as a reader's scroll has: the app notes the place then.
      const scrolled = new Promise((resolve) => el.addEventListener('scroll', resolve, { once: true }))
      const from = el.scrollTop
      el.scrollTop += by
      if (el.scrollTop !== from) await scrolled
    },
    [text, offset] as const,
  )
}

/**
 * Whether the message with `text` starts `offset` px below the message list's
 * top, to the px (scroll positions round), wherever the list is (a connection
 * banner moves it down).
 */
async function isAt(page: Page, text: string, offset = 30): Promise<boolean> {
  const [row, list] = await Promise.all([
    message(page, text).boundingBox(),
    page.getByTestId('message-list').boundingBox(),
  ])
  return Math.abs(row!.y - list!.y - offset) <= 2
}

/** How far the message list is scrolled up from its bottom, in px. */
function fromBottom(page: Page): Promise<number> {
  return page
    .getByTestId('message-list')
    .evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)
}

const LONG_TOPIC =
  'Planning for the next quarter: goals, owners, the retrospective of the last one, and everything else that needs a home until the offsite in March'

const cut = (el: HTMLElement) => el.scrollWidth > el.clientWidth

/** `text` is cut to one line until a tap shows it whole, more than `grows` times as tall. */
async function opensWholeOnTap(cutText: Locator, text: string, grows: number): Promise<void> {
  expect(await cutText.evaluate(cut)).toBe(true)
  const before = (await cutText.boundingBox())!
  await cutText.tap()
  await expect.poll(() => cutText.evaluate(cut)).toBe(false)
  expect((await cutText.boundingBox())!.height).toBeGreaterThan(before.height * grows)
  expect(await cutText.innerText()).toBe(text)
}

describe('layout', () => {
  it('a notice shows below the room header, clear of its title and the composer, on a desktop and a phone', async () => {
    const [alice, bob] = await Promise.all([
      e2e.signUp('Alice Martin'),
      e2e.signUp('Bob Chen', { ...PHONE, colorScheme: 'dark' }),
    ])
    await createRoom(alice.page, 'notice-desk', { topic: 'Where notices go' })
    await invite(alice.page, bob.username)
    const onDesk = alice.page.getByRole('status').filter({ hasText: 'Invited' })
    await onDesk.waitFor()
    await expectClear(alice.page, onDesk)
    // It only tells: a click where it shows reaches what is under it (the list's Retry, a message).
    const hit = await onDesk.evaluate((el) => {
      const box = el.getBoundingClientRect()
      const under = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2)
      return under?.closest('[role="status"]')?.textContent ?? null
    })
    expect(hit).toBeNull()
    // "Works offline" usually shows now too (the service worker has just installed): same rule.
    await expectClear(alice.page, alice.page.getByTestId('offline-ready'), { ifShown: true })

    await createRoom(bob.page, 'notice-phone', { topic: 'Where notices go on a phone' })
    await invite(bob.page, alice.username)
    const onPhone = bob.page.getByRole('status').filter({ hasText: 'Invited' })
    await onPhone.waitFor()
    await expectClear(bob.page, onPhone)
    await expectClear(bob.page, bob.page.getByTestId('offline-ready'), { ifShown: true })
  })

  it('phone: away from a room a notice sits at the bottom, clear of the directory\'s heading, search and Create room', async () => {
    const [alice, bob] = await Promise.all([e2e.signUp('Alice Martin'), e2e.signUp('Bob Chen', PHONE)])
    const roomId = await createRoom(alice.page, 'notice-kick')
    await invite(alice.page, bob.username)
    await bob.page.goto('/browse')
    await bob.page.getByTestId('browse-search').waitFor()
    // Alice removes Bob while he is in the directory: the app tells him so.
    await removeFromRoom(alice.page, roomId, bob.page)
    const notice = bob.page.getByRole('status').filter({ hasText: 'You were removed from notice-kick' })
    await notice.waitFor()
    const n = (await notice.boundingBox())!
    for (const covered of [
      bob.page.getByRole('heading', { name: 'Browse rooms' }),
      bob.page.getByTestId('browse-search'),
      bob.page.getByRole('button', { name: 'Create room' }),
    ]) {
      const box = (await covered.boundingBox())!
      expect(overlaps(n, box), `the notice ${JSON.stringify(n)} covers ${JSON.stringify(box)}`).toBe(false)
    }
    expect(n.y + n.height).toBeLessThanOrEqual(bob.page.viewportSize()!.height)
  })

  it('phone: the members drawer closes on Escape and on a tap outside it, back to its toggle; a long topic opens on a tap', async () => {
    const { page } = await e2e.signUp('Pia Drawer', PHONE)
    await createRoom(page, 'drawer-room', { topic: LONG_TOPIC })
    const toggle = page.getByTestId('members-toggle')
    const members = page.getByTestId('member-list')

    await toggle.tap()
    await members.waitFor()
    await page.keyboard.press('Escape')
    await members.waitFor({ state: 'detached' })
    expect(await toggle.evaluate((el) => el === document.activeElement)).toBe(true)

    await toggle.tap()
    await members.waitFor()
    const drawer = (await members.boundingBox())!
    // Outside the drawer, over the messages.
    await page.touchscreen.tap(drawer.x / 2, 420)
    await members.waitFor({ state: 'detached' })
    expect(await toggle.evaluate((el) => el === document.activeElement)).toBe(true)

    // The topic is cut to one line; a tap shows all of it (phones have no hover tooltip).
    await opensWholeOnTap(page.getByTestId('room-topic'), LONG_TOPIC, 2)
  })

  it('phone: a notice over the open members drawer sits at the bottom, clear of its header and members, and is not made inert with the room', async () => {
    const [alice, bob] = await Promise.all([e2e.signUp('Alice Martin'), e2e.signUp('Bob Chen', PHONE)])
    const roomId = await createRoom(alice.page, 'drawer-notice')
    await invite(alice.page, bob.username)
    await bob.page.goto(`/rooms/${roomId}`)
    await bob.page.getByTestId('composer').waitFor()
    await bob.page.getByTestId('members-toggle').tap()
    await bob.page.getByTestId('member-item').nth(1).waitFor()
    await mutate(alice.page, 'rooms.update', { roomId, topic: 'Plans for next year and the offsite' })
    const notice = bob.page.getByRole('status').filter({ hasText: 'Alice Martin changed the topic' })
    await notice.waitFor()
    const n = (await notice.boundingBox())!
    const list = bob.page.getByTestId('member-list')
    for (const covered of [
      list.getByRole('heading'),
      list.getByRole('button', { name: /close/i }),
      ...(await bob.page.getByTestId('member-item').all()),
    ]) {
      const box = (await covered.boundingBox())!
      expect(overlaps(n, box), `the notice ${JSON.stringify(n)} covers ${JSON.stringify(box)}`).toBe(false)
    }
    expect(n.y + n.height).toBeLessThanOrEqual(bob.page.viewportSize()!.height)
    expect(await notice.evaluate((el) => el.closest('[inert]') === null)).toBe(true)

    // Closed, the notices go back below the room's header.
    await bob.page.keyboard.press('Escape')
    await list.waitFor({ state: 'detached' })
    await mutate(alice.page, 'rooms.update', { roomId, topic: 'Back to plans' })
    const next = bob.page.getByRole('status').filter({ hasText: 'Back to plans' })
    await next.waitFor()
    await expectClear(bob.page, next)
  })

  it('phone: a room name too long for the header is cut to one line, and a tap on it shows it whole', async () => {
    const { page } = await e2e.signUp('Quinn Long', PHONE)
    const name = 'quarterly-planning-offsite-2027'
    await createRoom(page, name)
    const title = page.getByTestId('room-title')
    await opensWholeOnTap(title, name, 1.5)
    // Still inside the header, clear of its buttons.
    const invite = (await page.getByTestId('invite-button').boundingBox())!
    const shown = (await title.boundingBox())!
    expect(shown.x + shown.width).toBeLessThanOrEqual(invite.x)
    await title.tap()
    await expect.poll(() => title.evaluate(cut)).toBe(true)
  })

  it('a narrow phone keeps the header for the room\'s name: search, edit, mute and leave are under "More", which closes on a choice, Escape or a tap elsewhere', async () => {
    const { page } = await e2e.signUp('Nia Narrow', {
      ...PHONE,
      viewport: { width: 320, height: 640 },
    })
    await createRoom(page, 'standup notes', { private: true })
    // An owner of a private room: invite, members and More beside the name.
    const title = page.getByTestId('room-title')
    expect((await title.boundingBox())!.width).toBeGreaterThanOrEqual(90)
    for (const hidden of ['search-button', 'edit-room-button', 'mute-room', 'leave-room'])
      expect(await page.getByTestId(hidden).isVisible()).toBe(false)
    const more = page.getByTestId('room-more')
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))

    await more.tap()
    await expect.poll(focused).toBe('more-search') // the keyboard, if any, is in it
    const choices = page.getByRole('group', { name: 'More' }).getByRole('button')
    expect(await choices.allInnerTexts()).toEqual([
      'Search messages',
      'Edit room',
      'Mute room',
      'Leave room',
    ])
    await page.keyboard.press('Escape')
    await page.getByTestId('more-search').waitFor({ state: 'detached' })
    expect(await focused()).toBe('room-more')
    await more.tap()
    // Away from the middle, where a room just made offers "Invite people".
    await page.getByTestId('message-list').tap({ position: { x: 8, y: 8 } })
    await page.getByTestId('more-search').waitFor({ state: 'detached' })

    await more.tap()
    await page.getByTestId('more-edit').tap()
    await page.getByTestId('room-name-input').waitFor()
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).tap()
    await more.tap()
    await page.getByTestId('more-mute').tap()
    await more.tap()
    await expect.poll(() => page.getByTestId('more-mute').innerText()).toBe('Unmute room')
    await page.getByTestId('more-leave').tap()
    await page.getByTestId('confirm-accept').waitFor()
    await page.getByTestId('confirm-dialog').getByRole('button', { name: 'Cancel' }).tap()
    await page.getByTestId('confirm-accept').waitFor({ state: 'detached' })
  })

  it("phone: the back arrow returns to the room list as the phone's Back would, so Back from the list leaves instead of reopening the rooms read; opened from a link, the arrow still goes to the list", async () => {
    const { page } = await e2e.signUp('Tia Arrow', PHONE)
    const first = await createRoom(page, 'arrow-one')
    await createRoom(page, 'arrow-two')
    const path = () => new URL(page.url()).pathname
    const arrow = page.getByRole('link', { name: 'Back to rooms' })

    // The directory, loaded on its own: its arrow leads on to the list.
    await page.goto('/browse')
    await arrow.click()
    await roomItem(page, 'arrow-one').waitFor()
    for (const name of ['arrow-one', 'arrow-two']) {
      await openRoom(page, name)
      await arrow.click()
      await roomItem(page, name).waitFor()
      expect(path()).toBe('/')
    }
    // Back from the list goes where the reader was before it, not into a room.
    await page.goBack()
    await page.getByRole('heading', { name: 'Browse rooms' }).waitFor()
    expect(path()).toBe('/browse')

    // A room opened from a link has no list behind it: the arrow goes to it.
    await page.goto(`/rooms/${first}`)
    await page.getByTestId('composer').waitFor()
    await arrow.click()
    await roomItem(page, 'arrow-two').waitFor()
    expect(path()).toBe('/')
  })

  it('a touch tablet: no keyboard hints by the composer, and opening a room does not pop the keyboard up', async () => {
    const { page } = await e2e.signUp('Tara Slate', {
      viewport: { width: 1024, height: 768 },
      hasTouch: true,
      isMobile: true,
    })
    await createRoom(page, 'tablet-room')
    expect(await page.getByText('to send').isVisible()).toBe(false)
    expect(await page.getByTestId('composer').evaluate((el) => el === document.activeElement)).toBe(
      false,
    )
  })
  it('the reaction picker of the latest message opens whole, inside the message list, on a desktop and a phone, and closes on a click or tap elsewhere', async () => {
    const alice = await e2e.signUp('Alice Picker')
    const bob = await e2e.signUp('Bob Picker', PHONE)
    const roomId = await createRoom(alice.page, 'picker-room')
    await invite(alice.page, bob.username)
    await bob.page.goto(`/rooms/${roomId}`)
    await bob.page.getByTestId('composer').waitFor()
    for (const text of ['The first one', 'The latest one']) {
      await alice.page.getByTestId('composer').fill(text)
      await alice.page.getByTestId('composer').press('Enter')
      await message(bob.page, text).waitFor()
    }

    const opens = async (page: Page, latest: Locator, reach: (l: Locator) => Promise<void>) => {
      await reach(latest)
      await latest.getByTestId('react-button').click()
      const picker = latest.getByRole('menu', { name: 'Add a reaction' })
      await picker.waitFor()
      const box = (await picker.boundingBox())!
      const list = (await page.getByTestId('message-list').boundingBox())!
      expect(box.y, 'the picker starts inside the list').toBeGreaterThanOrEqual(list.y)
      expect(box.y + box.height, 'the picker ends inside the list').toBeLessThanOrEqual(
        list.y + list.height,
      )
      // Over the message's neighbours or its margins, not over its words (to the px: layout rounds).
      const words = (await latest.getByTestId('message-body').boundingBox())!
      const clear = box.y + box.height <= words.y + 1 || box.y >= words.y + words.height - 1
      expect(
        clear,
        `the picker ${JSON.stringify(box)} covers the words ${JSON.stringify(words)}`,
      ).toBe(true)
      await picker.getByRole('menuitem', { name: 'React with 🎉' }).click()
      await latest.getByTestId('reaction').filter({ hasText: '🎉' }).waitFor()
    }
    await opens(alice.page, message(alice.page, 'The latest one'), (m) => m.hover())
    await opens(bob.page, message(bob.page, 'The latest one'), (m) => m.tap())

    // A click or a tap anywhere else closes it, as Escape does (an open picker hangs over the
    // next message's tools); so does moving the focus away.
    const pickers = (page: Page) => page.getByRole('menu', { name: 'Add a reaction' })
    const first = message(alice.page, 'The first one')
    await first.hover()
    await first.getByTestId('react-button').click()
    await pickers(alice.page).waitFor()
    const latest = message(alice.page, 'The latest one')
    await latest.getByTestId('message-body').click({ position: { x: 5, y: 5 } })
    await expect.poll(() => pickers(alice.page).count()).toBe(0)
    await latest.hover()
    await latest.getByTestId('react-button').click()
    await pickers(alice.page).waitFor()
    await alice.page.getByTestId('composer').focus()
    await expect.poll(() => pickers(alice.page).count()).toBe(0)

    const mine = message(bob.page, 'The first one')
    await mine.tap()
    await mine.getByTestId('react-button').tap()
    await pickers(bob.page).waitFor()
    await message(bob.page, 'The latest one').tap({ position: { x: 10, y: 5 } })
    await expect.poll(() => pickers(bob.page).count()).toBe(0)
  })

  it('phone: editing the latest message brings its editor whole into the list, Save and Cancel in reach, and no stray tool bar', async () => {
    const alice = await e2e.signUp('Alice Editor', PHONE)
    const bob = await e2e.signUp('Bob Editor')
    const roomId = await createRoom(alice.page, 'edit-room')
    await invite(alice.page, bob.username)
    // Someone else's messages above hers, enough that the list scrolls.
    const earlier = Array.from({ length: 15 }, (_, i) => `Earlier note ${i + 1}`)
    await sendElsewhere(bob.page, roomId, earlier)
    await message(alice.page, 'Earlier note 15').waitFor()
    await alice.page.getByTestId('composer').fill('A line I will fix')
    await alice.page.getByTestId('composer').press('Enter')
    const latest = message(alice.page, 'A line I will fix')
    await latest.tap()
    await latest.getByTestId('edit-button').tap()

    const editor = alice.page.getByTestId('edit-input')
    await expect.poll(() => editor.evaluate((el) => el === document.activeElement)).toBe(true)
    const list = (await alice.page.getByTestId('message-list').boundingBox())!
    const parts = {
      'the editor': editor,
      Save: alice.page.getByTestId('edit-save'),
      Cancel: alice.page.getByRole('button', { name: 'Cancel' }),
    }
    for (const [name, part] of Object.entries(parts)) {
      const inside = async () => {
        const box = (await part.boundingBox())!
        return box.y >= list.y && box.y + box.height <= list.y + list.height
      }
      await expect.poll(inside, { message: `${name} is inside the message list` }).toBe(true)
    }
    // The list moved under the finger: no other message shows its tool bar (a touch screen's
    // hover stays where the tap was, over whatever is there now).
    // (A hidden bar is clipped to 1 px, or transparent, its buttons inside it.)
    const toolBars = await alice.page.getByTestId('react-button').evaluateAll(
      (buttons) =>
        buttons.filter((b) => {
          const bar = b.parentElement!
          return bar.getBoundingClientRect().width > 1 && getComputedStyle(bar).opacity !== '0'
        }).length,
    )
    expect(toolBars, 'tool bars showing').toBe(0)
    await editor.fill('A line I fixed')
    await alice.page.getByTestId('edit-save').tap()
    await message(alice.page, 'A line I fixed').waitFor()
  })

  it('the composer grows with its lines up to a limit, shrinks with them, and is one line again after a send', async () => {
    const { page } = await e2e.signUp('Gwen Lines')
    await createRoom(page, 'composer-room')
    const composer = page.getByTestId('composer')
    const height = async () => (await composer.boundingBox())!.height
    const oneLine = await height()

    await composer.click()
    await composer.pressSequentially('first line')
    expect(await height()).toBe(oneLine)
    for (const line of ['second line', 'third line']) {
      await composer.press('Shift+Enter')
      await composer.pressSequentially(line)
    }
    const threeLines = await height()
    expect(threeLines).toBeGreaterThan(oneLine * 1.8)

    // Taking a line away takes its height away.
    await composer.press('Shift+Home')
    await composer.press('Backspace')
    await composer.press('Backspace')
    await expect.poll(height).toBeLessThan(threeLines)
    expect(await height()).toBeGreaterThan(oneLine)

    // A long paste stops at the limit and scrolls inside.
    await composer.fill(Array.from({ length: 30 }, (_, i) => `line ${i}`).join('\n'))
    await expect.poll(height).toBeGreaterThan(threeLines)
    expect(await height()).toBeLessThanOrEqual(202)

    await composer.press('Enter')
    await page.getByTestId('message-body').filter({ hasText: 'line 29' }).waitFor()
    await expect.poll(height).toBe(oneLine)
  })

  it("on a small phone, long names fit: the composer stays one line (its placeholder cut short, not wrapped and cut in half), and a message's time stays whole and on screen beside a long author name", async () => {
    // A word of her name wider than the line, too.
    const { page } = await e2e.signUp('Lena Wolfeschlegelsteinhausenbergerdorff Long', {
      ...PHONE,
      viewport: { width: 320, height: 640 },
    })
    const name = 'a-really-long-room-name-that-goes-on-and-on-forever'
    await createRoom(page, name)
    const composer = page.getByTestId('composer')
    expect(await composer.getAttribute('placeholder')).toBe('Message a-really-long-room-name…')
    // Nothing of it below the box's one line, even where the short form is wider than the box.
    const [below, oneLine] = await composer.evaluate((t) => [
      t.scrollHeight - t.clientHeight,
      t.clientHeight,
    ])
    expect(below).toBeLessThanOrEqual(0)
    expect(oneLine).toBeLessThan(40)
    // The name is whole where it is heard.
    expect(await composer.getAttribute('aria-label')).toBe(`Message ${name}`)

    // Her name takes more than a line beside the time; the time keeps one ("7:42 AM", not "7:42" over "AM").
    await composer.fill('Hello')
    await composer.press('Enter')
    // Once the server has it: the row the page shows until then is replaced.
    const sent = page.locator('[data-testid="message-item"][data-pending="false"]', {
      hasText: 'Hello',
    })
    await sent.waitFor()
    const meta = sent.locator('.meta')
    const lines = (el: Locator) =>
      el.evaluate((node) => {
        const range = document.createRange()
        range.selectNodeContents(node)
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size
      })
    expect(await lines(meta.getByTestId('message-author'))).toBeGreaterThan(1)
    expect(await lines(meta.locator('time'))).toBe(1)
    const time = (await meta.locator('time').boundingBox())!
    const row = (await sent.boundingBox())!
    expect(time.x + time.width).toBeLessThanOrEqual(row.x + row.width)

    // Her own account shows her name whole, on as many lines as it takes.
    await page.getByRole('link', { name: 'Back to rooms' }).click()
    await page.getByTestId('account-button').click()
    const own = page.getByTestId('account-name')
    expect(await own.innerText()).toBe('Lena Wolfeschlegelsteinhausenbergerdorff Long')
    expect(await own.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true)
    expect(await lines(own)).toBeGreaterThan(1)
  })

  it('on a small phone, someone with a long name typing shows on one line: the name cut short, "is typing…" kept, and heard whole; a name that fits is not cut', async () => {
    const typer = 'Bartholomew Featherstonehaugh-Cholmondeley'
    const alice = await e2e.signUp(typer)
    const bob = await e2e.signUp('Bo Short', { ...PHONE, viewport: { width: 320, height: 640 } })
    const roomId = await createRoom(alice.page, 'typing-room', { private: true })
    await invite(alice.page, bob.username)
    await bob.page.goto(`/rooms/${roomId}`)
    await bob.page.getByTestId('composer').waitFor()
    await alice.page.getByTestId('composer').pressSequentially('on my way')
    const indicator = bob.page.getByTestId('typing-indicator')
    await expect.poll(() => typingText(bob.page)).toBe(`${typer} is typing…`)
    // Where its words are drawn: on how many lines, and where "is typing…" ends.
    const drawn = await indicator.evaluate((el) => {
      const rects: DOMRect[] = []
      let verbEnd = 0
      const texts = document.createTreeWalker(el, NodeFilter.SHOW_TEXT)
      for (let node = texts.nextNode(); node; node = texts.nextNode()) {
        const range = document.createRange()
        range.selectNodeContents(node)
        rects.push(...[...range.getClientRects()].filter((r) => r.width > 0))
        const at = node.textContent!.indexOf('is typing')
        if (at < 0) continue
        range.setStart(node, at)
        verbEnd = Math.max(...[...range.getClientRects()].map((r) => r.right))
      }
      return { lines: new Set(rects.map((r) => Math.round(r.bottom))).size, verbEnd }
    })
    expect(drawn.lines).toBe(1)
    expect(drawn.verbEnd).toBeGreaterThan(0)
    expect(drawn.verbEnd).toBeLessThanOrEqual(320)

    // A name that fits is not cut at all.
    await bob.page.getByTestId('composer').pressSequentially('ok')
    await expect.poll(() => typingText(alice.page)).toBe('Bo Short is typing…')
    const who = alice.page.getByTestId('typing-indicator').locator('.who')
    expect(await who.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true)
  })

  it('a room left while reading back opens again where the reader was, on a desktop and a phone; left at the bottom, at its newest', async () => {
    for (const [who, options] of [
      ['Rita Desk', {}],
      ['Rita Phone', PHONE],
    ] as const) {
      const { page } = await e2e.signUp(who, options)
      const phone = options === PHONE
      // On a phone through the room list, which the room's page leaves for.
      const open = async (name: string) => {
        if (!phone) return openRoom(page, name)
        await page.getByLabel('Back to rooms').click()
        await roomItem(page, name).click()
        await expect.poll(() => page.getByTestId('room-title').innerText()).toBe(name)
      }
      await createRoom(page, 'elsewhere')
      const roomId = await createRoom(page, 'long-read')
      await sendElsewhere(
        page,
        roomId,
        Array.from({ length: 60 }, (_, i) => `entry ${i} of the week`),
      )
      await message(page, 'entry 59 of').waitFor()
      const list = page.getByTestId('message-list')
      const topOf = async (text: string) => (await message(page, text).boundingBox())!.y

      // Reading back: entry 20 a little below the list's top.
      const readBack = () => readBackTo(page, 'entry 20 of')
      const inPlace = () => isAt(page, 'entry 20 of')
      const atBottom = () => fromBottom(page)
      await readBack()
      await expect.poll(inPlace).toBe(true)
      await open('elsewhere')
      await open('long-read')
      await expect.poll(inPlace, { message: who }).toBe(true)
      const listBox = (await list.boundingBox())!
      expect(await topOf('entry 59 of'), 'the newest is below the screen').toBeGreaterThan(
        listBox.y + listBox.height,
      )

      if (!phone) {
        // Someone writes while she is away: back in the room, still where she was, she is told.
        const other = await e2e.signUp('Otto Other')
        await invite(page, other.username)
        await readBack()
        await expect.poll(inPlace).toBe(true)
        await open('elsewhere')
        await sendElsewhere(other.page, roomId, ['while you were away', 'and more'])
        await expect.poll(() => unreadBadge(page, 'long-read')).toBe('2')
        await open('long-read')
        await expect.poll(inPlace).toBe(true)
        const below = page.getByTestId('new-below')
        await expect.poll(() => below.innerText().catch(() => '')).toBe('2 new messages')
        await below.click()
        await expect.poll(atBottom).toBeLessThan(2)
      }

      // At the bottom when left: it opens at its newest again.
      await list.evaluate((el) => (el.scrollTop = el.scrollHeight))
      await open('elsewhere')
      await open('long-read')
      await expect.poll(atBottom).toBeLessThan(2)
    }
  })

  it('a reload (or a phone loading again a tab it put away) opens the room where the reader was, telling her what came meanwhile; left at the bottom, at its newest', async () => {
    const { page } = await e2e.signUp('Rhea Reload', PHONE)
    const roomId = await createRoom(page, 'reload-read')
    await sendElsewhere(
      page,
      roomId,
      Array.from({ length: 60 }, (_, i) => `line ${i} of the minutes`),
    )
    await message(page, 'line 59 of').waitFor()
    const list = page.getByTestId('message-list')
    // Reading back: line 20 a little below the list's top.
    await readBackTo(page, 'line 20 of')
    const inPlace = () => isAt(page, 'line 20 of')
    const atBottom = () => fromBottom(page)
    await expect.poll(inPlace).toBe(true)

    // A phone puts the tab away (it may then discard it without another word):
    // the place is kept in the tab's storage then, not only as the page goes.
    const kept = () => page.evaluate(() => sessionStorage.getItem('parley:reading-places'))
    expect(await kept()).toBeNull()
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true })
      document.dispatchEvent(new Event('visibilitychange'))
    })
    expect(await kept()).toContain(roomId)

    // Loaded again, it opens there.
    await page.reload()
    await message(page, 'line 20 of').waitFor()
    await expect.poll(inPlace).toBe(true)
    const listBox = (await list.boundingBox())!
    expect(await message(page, 'line 59 of').boundingBox().then((b) => b!.y)).toBeGreaterThan(
      listBox.y + listBox.height,
    )
    // And stays there as the rest of the room's history and catch-up come in.
    await expect.poll(() => bannerState(page)).toBeNull()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    expect(await inPlace()).toBe(true)

    // She goes, and someone writes meanwhile: back where she was, she is told.
    const other = await e2e.signUp('Otto Reload')
    await invite(page, other.username)
    await expect.poll(inPlace).toBe(true)
    await page.goto('about:blank')
    await sendElsewhere(other.page, roomId, ['while you were out', 'and more'])
    // Her room list (and with it her read marker) comes after the room's messages are on
    // screen: held until then, over HTTP or the socket, whichever asks for it.
    const answered = await holdAnswers(page, () => message(page, 'line 20 of').waitFor(), [
      'rooms.list',
    ])
    await page.goto(`/rooms/${roomId}`)
    await message(page, 'line 20 of').waitFor()
    await expect.poll(inPlace).toBe(true)
    await expect.poll(() => answered.has('rooms.list')).toBe(true)
    const below = page.getByTestId('new-below')
    await expect.poll(() => below.innerText().catch(() => '')).toBe('2 new messages')
    await below.click()
    await expect.poll(atBottom).toBeLessThan(2)

    // At the bottom when reloaded: it opens at its newest.
    await list.evaluate((el) => (el.scrollTop = el.scrollHeight))
    await expect.poll(atBottom).toBeLessThan(2)
    await page.reload()
    await message(page, 'line 59 of').waitFor()
    await expect.poll(atBottom).toBeLessThan(2)
  })

  it('on a slow network, a reader who scrolls up the copy on the device stays on the row she reads as the room comes in: no jump to the "New" line, and no rows gone from under her', async () => {
    const { page } = await e2e.signUp('Tess Train')
    const other = await e2e.signUp('Ollie Train')
    const roomId = await createRoom(page, 'slow-train')
    await invite(page, other.username)
    const read = Array.from({ length: 60 }, (_, i) => `read ${i} on the platform`)
    await sendElsewhere(other.page, roomId, read)
    await message(page, 'read 59 on').waitFor()
    await waitForSavedRoom(page, roomId, 60, 'read 59 on the platform')
    await expect.poll(() => unreadOnServer(page, roomId), { timeout: 10_000 }).toBe(0)

    // She goes; ten long ones come meanwhile, more than the list shows, and an
    // old one (older than the server's newest page) is edited.
    await page.goto('about:blank')
    const { messages } = await query<{ messages: { id: string; body: string }[] }>(
      other.page,
      'messages.list',
      { roomId, limit: 100 },
    )
    const old = messages.find((m) => m.body === 'read 18 on the platform')!
    await mutate(other.page, 'messages.edit', { messageId: old.id, body: 'read 18 on platform 2' })
    const news = Array.from(
      { length: 10 },
      (_, i) =>
        `news ${i} from the line: ${'signal failure at the junction, expect delays; '.repeat(8)}`,
    )
    await sendElsewhere(other.page, roomId, news)
    // The train's network: nothing the server says reaches her until it is let through.
    let letThrough!: () => void
    const through = new Promise<void>((resolve) => (letThrough = resolve))
    const answered = await holdAnswers(page, () => through)
    await page.goto(`/rooms/${roomId}`)
    await message(page, 'read 59 on').waitFor()
    // She scrolls far up what her device kept, with the wheel: older than the
    // server's newest page (read 20 on), which has yet to come.
    const list = page.getByTestId('message-list')
    const box = (await list.boundingBox())!
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
    await page.mouse.wheel(0, -1000)
    await expect.poll(() => fromBottom(page)).toBeGreaterThan(900)
    const reading = await list.evaluate((el) => {
      const top = el.getBoundingClientRect().top
      const row = [...el.querySelectorAll('[data-testid="message-item"]')].find(
        (r) => r.getBoundingClientRect().top >= top,
      )!
      return {
        n: Number(row.textContent!.match(/read (\d+) on/)![1]),
        offset: row.getBoundingClientRect().top - top,
      }
    })
    expect(reading.n).toBeLessThan(20)

    letThrough()
    await expect.poll(() => answered.has('messages.list')).toBe(true)
    await message(page, 'news 9 from').waitFor({ state: 'attached' })
    await page.getByTestId('new-divider').waitFor({ state: 'attached' })
    // What came is below her, counted on the button; what she reads has not
    // moved, and the rows around it are still there.
    const below = page.getByTestId('new-below')
    await expect.poll(() => below.innerText().catch(() => '')).toBe('10 new messages')
    expect(await isAt(page, `read ${reading.n} on`, reading.offset)).toBe(true)
    expect(await message(page, 'read 0 on').count()).toBe(1)
    // Kept from the device, brought up to date by the room's events.
    await message(page, 'read 18 on platform 2').waitFor({ state: 'attached' })
    // The button takes her to where they start, as the room would have
    // opened (ten long ones fill more than the screen): the "New" line near
    // the top, the first of them under it.
    await below.click()
    const lineAt = async () => {
      const [line, box] = await Promise.all([
        page.getByTestId('new-divider').boundingBox(),
        list.boundingBox(),
      ])
      return line!.y - box!.y
    }
    await expect.poll(lineAt).toBeLessThan(100)
    expect(await lineAt()).toBeGreaterThan(0)
    expect(await fromBottom(page)).toBeGreaterThan(300)
    await expect.poll(() => below.count()).toBe(0)
  })

  it('reading back far up, the place holds as a new message at the bottom sends the oldest rows out of the page', async () => {
    const { page } = await e2e.signUp('Wes Window')
    const roomId = await createRoom(page, 'window-room')
    // 249: the list keeps 200 to 249 of the newest in the page (new ones join 50 at a time
    // before the oldest leave), so the next message takes the oldest 50 out.
    await sendElsewhere(
      page,
      roomId,
      Array.from({ length: 249 }, (_, i) => `row ${i} of the log`),
    )
    await message(page, 'row 248 of').waitFor()
    const list = page.getByTestId('message-list')
    // Up to the start, a page of history at a time.
    while (!(await message(page, 'row 0 of').count())) {
      const before = await page.getByTestId('message-item').count()
      await list.evaluate((el) => (el.scrollTop = 0))
      await expect.poll(() => page.getByTestId('message-item').count()).toBeGreaterThan(before)
    }
    await readBackTo(page, 'row 150 of')
    const inPlace = () => isAt(page, 'row 150 of')
    await expect.poll(inPlace).toBe(true)

    await sendElsewhere(page, roomId, ['row 249, the one that tips it'])
    await message(page, 'the one that tips it').waitFor({ state: 'attached' })
    expect(await message(page, 'row 0 of').count(), 'the oldest left the page').toBe(0)
    expect(await inPlace()).toBe(true)
  })

  it('the message list sits by the composer, follows new messages, and holds still while someone reads back, telling them what came below', async () => {
    const alice = await e2e.signUp('Alice Scroll')
    const bob = await e2e.signUp('Bob Scroll')
    const roomId = await createRoom(alice.page, 'scroll-room')
    await invite(alice.page, bob.username)
    await openRoom(bob.page, 'scroll-room')
    const list = bob.page.getByTestId('message-list')
    /** Alice sends from another device (not her UI): `bodies` in order. */
    const send = async (...bodies: string[]) => {
      for (const body of bodies) {
        await trpcInPage(alice.page, 'mutation', 'messages.send', { roomId, clientId: crypto.randomUUID(), body })
      }
      await message(bob.page, bodies.at(-1)!).waitFor()
    }
    const distanceFromBottom = () => fromBottom(bob.page)
    const bottomOf = async (l: Locator) => {
      const box = (await l.boundingBox())!
      return box.y + box.height
    }

    // A short conversation sits at the bottom, next to the composer, like any chat.
    await send('first words', 'second words')
    const composerTop = (await bob.page.getByTestId('composer').boundingBox())!.y
    expect(composerTop - (await bottomOf(message(bob.page, 'second words')))).toBeLessThan(80)

    // A long one follows the newest message while Bob is at the bottom.
    const many = Array.from({ length: 40 }, (_, i) => `line ${i} of the conversation`)
    await send(...many)
    await expect.poll(distanceFromBottom).toBeLessThan(2)
    await expect.poll(() => message(bob.page, 'line 39 of').isVisible()).toBe(true)

    // Bob reads back: a new message does not move what he is looking at.
    await list.evaluate((el) => el.scrollTo({ top: 400 }))
    const reading = message(bob.page, 'line 10 of')
    const before = (await reading.boundingBox())!.y
    await send('while you were reading')
    expect((await reading.boundingBox())!.y).toBe(before)
    expect(await distanceFromBottom()).toBeGreaterThan(200)

    // He is told what came, at the bottom of the list, without it moving; the button takes him there.
    const below = bob.page.getByTestId('new-below')
    await expect.poll(() => below.innerText().catch(() => '')).toBe('1 new message')
    await send('and another')
    await expect.poll(() => below.innerText().catch(() => '')).toBe('2 new messages')
    expect((await reading.boundingBox())!.y).toBe(before)
    const shown = (await below.boundingBox())!
    const listBox = (await list.boundingBox())!
    expect(shown.y + shown.height).toBeLessThanOrEqual(listBox.y + listBox.height)
    expect(shown.y + shown.height).toBeGreaterThan(listBox.y + listBox.height - 80)
    await below.click()
    await expect.poll(distanceFromBottom).toBeLessThan(2)
    expect(await message(bob.page, 'and another').isVisible()).toBe(true)
    await below.waitFor({ state: 'detached' })

    // Back at the bottom, it follows again, with nothing to tell.
    await list.evaluate((el) => el.scrollTo({ top: 400 }))
    await send('once more')
    await expect.poll(() => below.innerText().catch(() => '')).toBe('1 new message')
    await list.evaluate((el) => el.scrollTo({ top: el.scrollHeight }))
    await below.waitFor({ state: 'detached' })
    await send('caught up')
    await expect.poll(distanceFromBottom).toBeLessThan(2)
    expect(await below.count()).toBe(0)
  })
})
