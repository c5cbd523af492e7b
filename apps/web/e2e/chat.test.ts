/**
 * Two people, two browser contexts, chatting through the UI of the production
 * build: invite, live messages, typing, reaction, edit, delete, unread badge,
 * member counts, the "New" line a room opens at, direct messages, mentions, moderation,
 * the room directory (also on a phone).
 */
import type { Locator, Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  bodies,
  createRoom,
  holdAnswers,
  invite,
  message,
  mutate,
  openRoom,
  PHONE,
  query,
  roomItem,
  savedRoom,
  say,
  sendElsewhere,
  signIn,
  storedBodies,
  twoInPrivateRoom,
  typingText,
  unreadBadge,
  unreadOnServer,
  useE2E,
  waitForSavedRoom,
  waitForServiceWorker,
  type User,
} from './harness.ts'

const e2e = useE2E()

/** The message (or line) before the row with `testId`, its own words, and the one after. */
function rowsAround(page: Page, testId: string): Promise<string[]> {
  return page.getByTestId(testId).evaluate((row) => {
    const words = (el: Element | null) =>
      el?.querySelector('[data-testid="message-body"]')?.textContent?.trim() ??
      el?.textContent?.trim() ??
      ''
    return [words(row.previousElementSibling), words(row), words(row.nextElementSibling)]
  })
}
let alice: User
let bob: User

beforeAll(async () => {
  ;[alice, bob] = await Promise.all([
    e2e.signUp('Alice Martin'),
    e2e.signUp('Bob Chen', { colorScheme: 'dark' }),
  ])
})

describe('two people chatting', () => {
  it('invite, live messages both ways, typing, reaction, edit, delete, unread badge', async () => {
    const a = alice.page
    const b = bob.page

    // Bob has a room of his own to be in later.
    await createRoom(b, 'bob-notes', { topic: 'Scratchpad' })

    // Alice creates a private room and invites Bob: it appears in his list live.
    const roomId = await createRoom(a, 'design-crit', {
      topic: 'Weekly critique of in-flight work',
      private: true,
    })
    await invite(a, bob.username)
    await openRoom(b, 'design-crit')
    await b.waitForURL(`**/rooms/${roomId}`)
    await b.getByTestId('composer').waitFor()

    // Alice → Bob, live, rendered as markdown with safe links.
    await say(a, 'Morning! Here is the **new onboarding** flow: https://example.com/figma')
    await say(a, 'Main points:\n- fewer steps\n- `darkMode` by default')
    await message(b, 'fewer steps').waitFor()
    const first = message(b, 'Morning!').getByTestId('message-body')
    expect(await first.locator('strong').innerText()).toBe('new onboarding')
    expect(await first.locator('a').getAttribute('target')).toBe('_blank')
    expect(await first.locator('a').getAttribute('rel')).toContain('noopener')
    expect(await message(b, 'fewer steps').locator('li').allInnerTexts()).toEqual([
      'fewer steps',
      'darkMode by default',
    ])

    // Bob types: Alice sees who is typing. Then Bob → Alice, live.
    await b.getByTestId('composer').pressSequentially('Looks gr', { delay: 20 })
    await expect.poll(() => typingText(a)).toBe('Bob Chen is typing…')
    await b.getByTestId('composer').fill('Looks great — love the shorter signup')
    await b.getByTestId('composer').press('Enter')
    await message(a, 'shorter signup').waitFor()
    await expect.poll(() => bodies(a)).toEqual(await bodies(b))

    // A few emoji and nothing else show large, as in any chat app; emoji among words stay text-sized.
    await say(b, '🎉🙌')
    await say(b, 'nice 🎉')
    await message(a, 'nice 🎉').waitFor()
    const size = (text: string) =>
      message(a, text)
        .getByTestId('message-body')
        .evaluate((el) => parseFloat(getComputedStyle(el).fontSize))
    const textSize = await size('shorter signup')
    expect(await size('🎉🙌')).toBeGreaterThanOrEqual(textSize * 2)
    expect(await size('nice 🎉')).toBe(textSize)

    // Alice reacts to Bob's message: Bob sees the reaction.
    const onAlice = message(a, 'shorter signup')
    await onAlice.hover()
    await onAlice.getByTestId('react-button').click()
    const option = a.getByTestId('reaction-option').first()
    const emoji = (await option.innerText()).trim()
    await option.click()
    const reaction = message(b, 'shorter signup').getByTestId('reaction')
    await expect.poll(() => reaction.getAttribute('data-emoji').catch(() => null)).toBe(emoji)
    expect(await reaction.innerText()).toContain('1')

    // Alice edits her first message: Bob sees the new text, marked edited.
    const mine = message(a, 'Morning!')
    await mine.hover()
    await mine.getByTestId('edit-button').click()
    await a
      .getByTestId('edit-input')
      .fill('Morning all! Here is the **new onboarding** flow: https://example.com/figma')
    await a.getByTestId('edit-input').press('Enter')
    await message(b, 'Morning all!').waitFor()
    expect(await message(b, 'Morning all!').innerText()).toContain('(edited)')
    expect(await message(b, /^Morning! /).count()).toBe(0)

    // Alice deletes a message: Bob sees a tombstone instead.
    await say(a, 'oops wrong room')
    await message(b, 'oops wrong room').waitFor()
    const oops = message(a, 'oops wrong room')
    await oops.hover()
    await oops.getByTestId('delete-button').click()
    // Asked first, in the app's own dialog; cancelling keeps the message.
    await a.getByTestId('confirm-dialog').getByRole('button', { name: 'Cancel' }).click()
    await a.getByTestId('confirm-dialog').waitFor({ state: 'detached' })
    expect(await message(a, 'oops wrong room').getByTestId('message-body').count()).toBe(1)
    await oops.hover()
    await oops.getByTestId('delete-button').click()
    await a.getByTestId('confirm-accept').click()
    await b.getByTestId('message-deleted').waitFor()
    await message(b, 'oops wrong room').waitFor({ state: 'detached' })

    // Bob is in another room when Alice writes: a badge appears on design-crit…
    await roomItem(b, 'bob-notes').click()
    await b.waitForURL((url) => !url.pathname.endsWith(roomId))
    await expect.poll(() => b.getByTestId('room-title').innerText()).toBe('bob-notes')
    await say(a, 'Bob, can you check the copy on step 3?')
    await say(a, 'And the button colour on step 4')
    const badge = roomItem(b, 'design-crit').getByTestId('unread-badge')
    await expect
      .poll(() => badge.innerText().catch(() => ''))
      .toBe('2')
      .catch(async (err: Error) => {
        // What the server holds for Bob: his lastReadSeq tells a read marker that never arrived from a count gone wrong.
        const rooms = await query(b, 'rooms.list')
        throw new Error(`${err.message}\nBob's rooms on the server: ${JSON.stringify(rooms)}\n${e2e.output()}`)
      })
    expect(await roomItem(b, 'design-crit').getByTestId('room-last-message').innerText()).toBe(
      'Alice Martin: And the button colour on step 4',
    )
    expect(await roomItem(b, 'bob-notes').getByTestId('unread-badge').count()).toBe(0)
    // The tab's title carries the total, for when Parley is behind other tabs, and names the room on screen.
    expect(await b.title()).toBe('(2) bob-notes · Parley')

    // …and clears when he opens it, for good (the server has the read marker).
    await roomItem(b, 'design-crit').click()
    await message(b, 'step 4').waitFor()
    await expect.poll(() => badge.count()).toBe(0)
    await expect.poll(() => b.title()).toBe('design-crit · Parley')
    await roomItem(b, 'bob-notes').click()
    await expect.poll(() => b.getByTestId('room-title').innerText()).toBe('bob-notes')
    await expect.poll(() => unreadOnServer(b, roomId)).toBe(0)
    await b.reload()
    await roomItem(b, 'design-crit').waitFor()
    expect(await badge.count()).toBe(0)
    expect(await b.getByTestId('room-list-item').count()).toBe(2)
  })

  it('a long absence: the badge and the tab say 99+, also from the server’s count after a reload, and opening the room clears them', async () => {
    const {
      alice: a,
      bob: b,
      roomId,
    } = await twoInPrivateRoom(e2e, 'backlog', ['Alice Backlog', 'Bob Away'])
    await createRoom(b.page, 'elsewhere')
    await roomItem(b.page, 'backlog').waitFor()
    for (let i = 0; i < 250; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          mutate(a.page, 'messages.send', {
            roomId,
            clientId: crypto.randomUUID(),
            body: `while you were away ${i + k}`,
          }),
        ),
      )
    }
    const badge = roomItem(b.page, 'backlog').getByTestId('unread-badge')
    await expect.poll(() => badge.innerText().catch(() => ''), { timeout: 15_000 }).toBe('99+')
    await expect.poll(() => b.page.title()).toBe('(99+) elsewhere · Parley')

    // After a reload the count is the server's (rooms.list), which stops at UNREAD_COUNT_LIMIT (100 here).
    await b.page.reload()
    await expect.poll(() => badge.innerText().catch(() => ''), { timeout: 15_000 }).toBe('99+')
    const listed = (await query<{ id: string; unread: number }[]>(b.page, 'rooms.list')).find(
      (r) => r.id === roomId,
    )!
    expect(listed.unread).toBeGreaterThanOrEqual(100)
    expect(listed.unread).toBeLessThan(250)

    await openRoom(b.page, 'backlog')
    await expect.poll(() => badge.count()).toBe(0)
    await expect.poll(() => b.page.title()).toBe('backlog · Parley')
  })

  it('opening a room with unread messages: a "New" line before the first, and the room opens at it when they fill more than the screen (not when more than a page came)', async () => {
    const {
      alice: a,
      bob: b,
      roomId,
    } = await twoInPrivateRoom(e2e, 'catch-up', ['Alice Catchup', 'Bob Catchup'])
    await createRoom(b.page, 'catch-up-elsewhere')
    await openRoom(b.page, 'catch-up')
    const line = b.page.getByTestId('new-divider')
    const list = b.page.getByTestId('message-list')
    const onScreen = async (l: Locator) => {
      const box = (await l.boundingBox())!
      const view = (await list.boundingBox())!
      return box.y >= view.y && box.y + box.height <= view.y + view.height
    }
    // Nothing new when he opened it, nor as messages come while he reads.
    await sendElsewhere(a.page, roomId, ['read as it came', 'while he is here'])
    await message(b.page, 'while he is here').waitFor()
    expect(await line.count()).toBe(0)

    // Away, three come: the line sits before the first, and the room opens at its bottom.
    await openRoom(b.page, 'catch-up-elsewhere')
    await sendElsewhere(a.page, roomId, ['new one', 'new two', 'new three'])
    await expect
      .poll(() => unreadBadge(b.page, 'catch-up'))
      .toBe('3')
    await openRoom(b.page, 'catch-up')
    await line.waitFor()
    expect(await rowsAround(b.page, 'new-divider')).toEqual(['while he is here', 'New', 'new one'])
    expect(await onScreen(message(b.page, 'new three'))).toBe(true)

    // Opened again, all is read: no line. Away again, more than a screen's worth comes.
    await openRoom(b.page, 'catch-up-elsewhere')
    await openRoom(b.page, 'catch-up')
    await message(b.page, 'new three').waitFor()
    expect(await line.count()).toBe(0)
    await openRoom(b.page, 'catch-up-elsewhere')
    const many = Array.from({ length: 40 }, (_, i) => `backlog ${i}`)
    await sendElsewhere(a.page, roomId, many)
    await expect
      .poll(() => unreadBadge(b.page, 'catch-up'))
      .toBe('40')
    await openRoom(b.page, 'catch-up')
    await line.waitFor()
    // He starts reading where he left off: the line and the first new message on screen, not the last.
    await expect.poll(() => onScreen(message(b.page, 'backlog 0'))).toBe(true)
    expect(await onScreen(line)).toBe(true)
    expect(await onScreen(message(b.page, 'backlog 39'))).toBe(false)
    expect(await rowsAround(b.page, 'new-divider')).toEqual(['new three', 'New', 'backlog 0'])
    // Under the line, who wrote it shows again, though the same person wrote the one above.
    expect(await message(b.page, 'backlog 0').getByTestId('message-author').innerText()).toBe(
      'Alice Catchup',
    )

    // In a room he has not opened here, more than a page (50) came: where they start is not
    // loaded, so no line claims a place, and the room opens at the newest, as before.
    const floodId = await createRoom(a.page, 'catch-up-flood', { private: true })
    await invite(a.page, b.username)
    await sendElsewhere(
      a.page,
      floodId,
      Array.from({ length: 60 }, (_, i) => `flood ${i}`),
    )
    await expect
      .poll(() => unreadBadge(b.page, 'catch-up-flood'))
      .toBe('60')
    await openRoom(b.page, 'catch-up-flood')
    await expect.poll(() => onScreen(message(b.page, 'flood 59'))).toBe(true)
    expect(await bodies(b.page)).not.toContain('flood 0')
    expect(await line.count()).toBe(0)
  })

  it('where the first new message is also the first of its day, the day comes first and the "New" line sits on the message', async () => {
    const {
      alice: a,
      bob: b,
      roomId,
    } = await twoInPrivateRoom(e2e, 'fresh-day', ['Alice Fresh', 'Bob Fresh'])
    await sendElsewhere(a.page, roomId, ['first words here'])
    await expect.poll(() => unreadBadge(b.page, 'fresh-day')).toBe('1')
    await openRoom(b.page, 'fresh-day')
    await b.page.getByTestId('new-divider').waitFor()
    expect(await rowsAround(b.page, 'new-divider')).toEqual(['Today', 'New', 'first words here'])
  })

  it('a room opened from its address after time away (a reload, a tab the phone put away) has its "New" line, though the copy on the device said all was read', async () => {
    const {
      alice: a,
      bob: b,
      roomId,
    } = await twoInPrivateRoom(e2e, 'cold-start', ['Alice Cold', 'Bob Cold'])
    const unread = () => unreadOnServer(b.page, roomId)
    await openRoom(b.page, 'cold-start')
    await sendElsewhere(a.page, roomId, ['read before he went'])
    await message(b.page, 'read before he went').waitFor()
    // Read, here and on the server, and saved so on his device.
    await waitForSavedRoom(b.page, roomId, 1, 'read before he went')
    await expect.poll(unread, { timeout: 10_000 }).toBe(0)

    // He goes; two come meanwhile; he opens the room's address again.
    await b.page.goto('about:blank')
    await sendElsewhere(a.page, roomId, ['while away 1', 'while away 2'])
    await b.page.goto(`/rooms/${roomId}`)
    await message(b.page, 'while away 2').waitFor()
    await b.page.getByTestId('new-divider').waitFor()
    expect(await rowsAround(b.page, 'new-divider')).toEqual([
      'read before he went',
      'New',
      'while away 1',
    ])
    // And it was read as he saw it.
    await expect.poll(unread, { timeout: 10_000 }).toBe(0)
  })

  it('messages read a moment before the page is reloaded or left stay read: the marker waiting goes as the page does', async () => {
    const {
      alice: a,
      bob: b,
      roomId,
    } = await twoInPrivateRoom(e2e, 'read-then-go', ['Alice Leaving', 'Bob Leaving'])
    const unread = () => unreadOnServer(b.page, roomId)
    // Through the service worker as well: Chromium lost about half of the
    // `keepalive` requests it passed on from a page going away (public/sw-routes.js).
    await waitForServiceWorker(b.page)
    for (let n = 1; n <= 6; n++) {
      const reload = n % 2 === 1
      await openRoom(b.page, 'read-then-go')
      await sendElsewhere(a.page, roomId, [`news ${n}`, `more news ${n}`])
      await message(b.page, `more news ${n}`).waitFor()
      // Shown as read here at once; the server hears of it within 5 s, or as the page goes.
      await (reload ? b.page.reload() : b.page.goto('/browse'))
      // Reloaded, the room is open again: its own marker waits at least 3.75 s, so
      // in the first 3 s only the one sent as the page went can reach the server.
      // Elsewhere, no other marker can, so a busy machine may take its time.
      await expect
        .poll(unread, {
          timeout: reload ? 3_000 : 15_000,
          message: `after ${reload ? 'a reload' : 'a page load elsewhere'} (${n})`,
        })
        .toBe(0)
    }
  })

  it("counts each member once in the room's header, live and after a reload, and counts a leaver out", async () => {
    const a = alice.page
    const b = bob.page
    const count = (page: typeof a) => page.getByTestId('room-member-count').innerText()
    await createRoom(a, 'standup')
    // A room's member list shows ranks (a direct room's does not: below).
    await expect.poll(async () => (await a.getByTestId('member-role').allTextContents()).map((t) => t.trim())).toEqual(['owner'])
    // The room's own history (the owner's join) replays into the page: it is already in the count.
    await expect.poll(() => count(a)).toBe('1 member')
    await a.reload()
    await expect.poll(() => count(a)).toBe('1 member')
    await invite(a, bob.username)
    await expect.poll(() => count(a)).toBe('2 members')
    await openRoom(b, 'standup')
    await expect.poll(() => count(b)).toBe('2 members')
    await b.reload()
    await expect.poll(() => count(b)).toBe('2 members')
    expect(await count(a)).toBe('2 members')

    // Bob leaves (asked first): the room leaves his list, and Alice's count drops live.
    await b.getByTestId('leave-room').click()
    await b.getByTestId('confirm-accept').click()
    await roomItem(b, 'standup').waitFor({ state: 'detached' })
    await expect.poll(() => count(a)).toBe('1 member')
  })

  it('a direct message: each person sees it under the other\'s name and face, live', async () => {
    const a = alice.page
    const b = bob.page
    await a.getByTestId('open-direct').click()
    await a.getByTestId('direct-username').fill(bob.username)
    await a.getByTestId('direct-submit').click()
    await expect.poll(() => a.getByTestId('room-title').innerText()).toBe('Bob Chen')
    expect(await a.getByTestId('room-peer').innerText()).toBe(`@${bob.username}`)
    // Two people, no ranks: whoever started it is not shown as its "owner".
    await expect.poll(() => a.getByTestId('member-item').count()).toBe(2)
    expect(await a.getByTestId('member-role').count()).toBe(0)
    expect(await a.getByTestId('member-manage').count()).toBe(0) // nobody to promote or remove
    // Opened, but nothing said yet: Bob's app has the room, and does not show it or tell him of it.
    const roomId = new URL(a.url()).pathname.split('/').pop()!
    await expect.poll(() => savedRoom(b, roomId).then((s) => s.room)).toBe(true)
    expect(await roomItem(b, 'Alice Martin').count()).toBe(0)
    const notices = b.getByRole('status').filter({ hasText: 'started a conversation' })
    expect(await notices.count()).toBe(0)
    expect(await roomItem(a, 'Bob Chen').count()).toBe(1) // she opened it: it is in her list
    await say(a, 'Got a minute for the release notes?')

    // At her first word Bob is told live: the room is in his list under Alice's name, with her initials, and a notice says who started it.
    const item = roomItem(b, 'Alice Martin')
    await item.waitFor()
    await b.getByRole('status').filter({ hasText: 'Alice Martin started a conversation with you' }).waitFor()
    expect((await item.locator('.avatar').innerText()).trim()).toBe('AM')
    expect(await roomItem(a, 'Bob Chen').locator('.avatar').innerText()).toContain('BC')
    await openRoom(b, 'Alice Martin')
    await message(b, 'release notes').waitFor()
    expect(await b.getByTestId('composer').getAttribute('placeholder')).toBe('Message Alice Martin')
    // The sidebar filter finds it by the name on screen.
    await b.getByPlaceholder('Filter rooms').fill('alice')
    expect(await b.getByTestId('room-name').allInnerTexts()).toEqual(['Alice Martin'])
    await b.getByPlaceholder('Filter rooms').fill('')
  })

  it("↑ in an empty composer edits one's latest message, and the keyboard is back in the composer after", async () => {
    const { page } = await e2e.signUp('Kim Keys')
    await createRoom(page, 'keys-room')
    await say(page, 'first thought')
    await say(page, 'second thougth')
    const composer = page.getByTestId('composer')
    const editor = page.getByTestId('edit-input')
    const inComposer = () => composer.evaluate((el) => el === document.activeElement)

    // With words in the box, ↑ is the caret's.
    await composer.fill('draft')
    await composer.press('ArrowUp')
    expect(await editor.count()).toBe(0)
    await composer.fill('')

    await composer.press('ArrowUp')
    await expect.poll(() => editor.evaluate((el) => el === document.activeElement)).toBe(true)
    expect(await editor.inputValue()).toBe('second thougth')
    await editor.fill('second thought')
    await editor.press('Enter')
    await expect.poll(() => bodies(page)).toEqual(['first thought', 'second thought'])
    expect(await message(page, 'second thought').innerText()).toContain('(edited)')
    await expect.poll(inComposer).toBe(true)

    // Escape leaves it as it was, and the keyboard in the composer too.
    await composer.press('ArrowUp')
    await editor.waitFor()
    await editor.press('Escape')
    await editor.waitFor({ state: 'detached' })
    await expect.poll(inComposer).toBe(true)
    expect(await bodies(page)).toEqual(['first thought', 'second thought'])
  })

  it('a paste longer than a message may be is kept whole: the box says how far over it is and sends once it fits; the editor too', async () => {
    const { page } = await e2e.signUp('Kim Paste')
    const roomId = await createRoom(page, 'long-paste')
    const composer = page.getByTestId('composer')
    const length = page.getByTestId('composer-length')
    const log = 'x'.repeat(4_100)
    await composer.focus()
    await page.keyboard.insertText(log) // as a paste: a cut one lost its end unseen
    expect(await composer.inputValue()).toBe(log)
    await expect.poll(() => length.innerText()).toBe('Too long by 100 characters')
    expect(await page.getByTestId('send-button').isDisabled()).toBe(true)
    await composer.press('Enter')
    expect(await composer.inputValue()).toBe(log) // Enter sends nothing and keeps it all

    await composer.fill(log.slice(0, 3_990))
    await expect.poll(() => length.innerText()).toBe('10')
    await composer.press('Enter')
    await expect.poll(() => storedBodies(page, roomId)).toEqual([log.slice(0, 3_990)])

    // Editing it the same way: Save waits until it fits, and nothing is cut.
    await composer.press('ArrowUp')
    const editor = page.getByTestId('edit-input')
    await editor.press('End')
    await page.keyboard.insertText('y'.repeat(20))
    expect(await editor.inputValue()).toHaveLength(4_010)
    await expect
      .poll(() => page.getByTestId('edit-length').innerText())
      .toBe('Too long by 10 characters')
    expect(await page.getByTestId('edit-save').isDisabled()).toBe(true)
    await editor.press('Enter')
    expect(await editor.inputValue()).toHaveLength(4_010)
    for (let i = 0; i < 10; i++) await editor.press('Backspace')
    await editor.press('Enter')
    await editor.waitFor({ state: 'detached' })
    await expect
      .poll(() => storedBodies(page, roomId))
      .toEqual([`${log.slice(0, 3_990)}${'y'.repeat(10)}`])
  })

  it('a message still on its way can be edited: the editor stays open, with what was typed, when the server answers', async () => {
    const { page } = await e2e.signUp('Kim Quick')
    const roomId = await createRoom(page, 'quick-fix')
    // A slow network: the send's answer, and the message coming back, wait for the gate.
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    await holdAnswers(page, () => gate, ['messages.send', 'events.room'])
    await page.reload()
    const composer = page.getByTestId('composer')
    await composer.waitFor()
    await say(page, 'helo world')
    const sent = message(page, 'helo world')
    expect(await sent.getAttribute('data-pending')).toBe('true')
    // The typo seen at once: ↑, and fixed while the message is still on its way.
    await composer.press('ArrowUp')
    const editor = page.getByTestId('edit-input')
    await editor.fill('hello world')
    open()
    await expect.poll(() => page.locator('[data-pending="true"]').count()).toBe(0)
    expect(await editor.inputValue()).toBe('hello world')
    expect(await editor.evaluate((el) => el === document.activeElement)).toBe(true)
    await editor.press('Enter')
    await expect.poll(() => storedBodies(page, roomId)).toEqual(['hello world'])
    expect(await bodies(page)).toEqual(['hello world'])
  })

  it('a message naming someone with @ marks the name, and stands out for the one it names', async () => {
    const {
      alice: a,
      bob: b,
      roomId,
    } = await twoInPrivateRoom(e2e, 'mentions', ['Alice Mention', 'Bob Mention'])
    await b.page.goto(`/rooms/${roomId}`)
    await b.page.getByTestId('composer').waitFor()
    const ask = `@${b.username} can you look at the deck? cc @nobody-here, not \`@${b.username}\``
    await say(a.page, ask)
    await say(a.page, 'thanks all')
    const named = (page: Page) =>
      message(page, 'can you look at the deck?').evaluate((row) => ({
        standsOut: row.getAttribute('data-mentions-me') === 'true',
        marked: [...row.querySelectorAll('.mention')].map((el) => [
          el.textContent,
          el.classList.contains('mention-me'),
        ]),
      }))
    await message(b.page, 'thanks all').waitFor()
    // Bob's own: the row stands out and his name is marked as his; @nobody-here is no one, and code is code.
    expect(await named(b.page)).toEqual({
      standsOut: true,
      marked: [[`@${b.username}`, true]],
    })
    expect(await message(b.page, 'thanks all').getAttribute('data-mentions-me')).toBeNull()
    // Alice wrote it: the name is marked, but nothing stands out for her.
    expect(await named(a.page)).toEqual({ standsOut: false, marked: [[`@${b.username}`, false]] })
    const tint = await message(b.page, 'can you look at the deck?').evaluate(
      (row) => getComputedStyle(row).boxShadow,
    )
    expect(tint).not.toBe('none')
  })

  it('a reply quotes the message in the box, names its author, keeps what was typed, and reaches them as a mention', async () => {
    const {
      alice: a,
      bob: b,
      roomId,
    } = await twoInPrivateRoom(e2e, 'replies', ['Alice Reply', 'Bob Reply'])
    await b.page.goto(`/rooms/${roomId}`)
    const composer = b.page.getByTestId('composer')
    await composer.waitFor()
    await say(a.page, '> what she said before\nShip it **today**?\nOr wait for QA')
    const asked = message(b.page, 'Ship it today?')
    await asked.waitFor()
    await composer.fill('I think')

    await asked.hover()
    await asked.getByTestId('reply-button').click()
    // Her words quoted (not the quote she held), her name, then what he had typed; the keyboard after it.
    expect(await composer.inputValue()).toBe(
      `> Ship it **today**?\n> Or wait for QA\n\n@${a.username} I think`,
    )
    await expect
      .poll(() => b.page.evaluate(() => document.activeElement?.getAttribute('data-testid')))
      .toBe('composer')
    await b.page.keyboard.type(' today is fine')
    await b.page.keyboard.press('Enter')

    // Alice sees the quote as a quote, and the reply stands out for her.
    const reply = message(a.page, 'today is fine')
    await reply.waitFor()
    expect(await reply.locator('blockquote').innerText()).toBe('Ship it today?\nOr wait for QA')
    expect(await reply.getAttribute('data-mentions-me')).toBe('true')
    // Her room list shows his words, not hers again.
    await expect
      .poll(() => roomItem(a.page, 'replies').getByTestId('room-last-message').innerText())
      .toBe(`Bob Reply: @${a.username} I think today is fine`)
    // His own message offers Reply too, without naming him.
    const own = message(b.page, 'today is fine')
    await own.hover()
    await own.getByTestId('reply-button').click()
    expect(await composer.inputValue()).toBe(`> @${a.username} I think today is fine\n\n`)
    // Someone who has not joined a public room reads it, and is not offered Reply (its tools show: React).
    const open = await createRoom(a.page, 'open-replies')
    await say(a.page, 'anyone around?')
    const visitor = await e2e.signUp('Vera Visitor')
    await visitor.page.goto(`/rooms/${open}`)
    const seen = message(visitor.page, 'anyone around?')
    await seen.hover()
    expect(await seen.getByTestId('react-button').count()).toBe(1)
    expect(await seen.getByTestId('reply-button').count()).toBe(0)
  })

  it('typing @ offers the room’s people: arrows and Enter, or a tap, name one, and Esc closes the offer', async () => {
    const {
      alice: a,
      bob: b,
      roomId,
    } = await twoInPrivateRoom(e2e, 'offers', ['Alice Offer', 'Bob Chen-Offer'])
    const carol = await e2e.signUp('Carol Offer', PHONE)
    await invite(a.page, carol.username)
    const composer = a.page.getByTestId('composer')
    const options = a.page.getByTestId('mention-option')
    const offered = async () => {
      const [names, handles] = await Promise.all([
        options.locator('strong').allInnerTexts(),
        options.locator('.handle').allInnerTexts(),
      ])
      return names.map((name, i) => `${name} ${handles[i]}`)
    }
    // Everyone in the room but herself, by name; fewer as she types.
    await composer.pressSequentially('hey @')
    await expect
      .poll(offered)
      .toEqual([`Bob Chen-Offer @${b.username}`, `Carol Offer @${carol.username}`])
    await composer.pressSequentially('car')
    await expect.poll(offered).toEqual([`Carol Offer @${carol.username}`])
    // Esc closes it.
    await composer.press('Escape')
    await options.first().waitFor({ state: 'detached' })
    await composer.fill('')
    // A word of the display name finds him too; ↓ moves, Enter names, nothing is sent.
    await composer.pressSequentially('thanks @o')
    await expect.poll(() => options.count()).toBe(2)
    await composer.press('ArrowDown')
    expect(await a.page.getByRole('option', { selected: true }).locator('strong').innerText()).toBe(
      'Carol Offer',
    )
    await composer.press('ArrowUp')
    await composer.press('Enter')
    await expect.poll(() => composer.inputValue()).toBe(`thanks @${b.username} `)
    await composer.pressSequentially('and all')
    await composer.press('Enter')
    await message(a.page, `thanks @${b.username} and all`).waitFor()
    await b.page.goto(`/rooms/${roomId}`)
    await expect
      .poll(() => message(b.page, 'and all').getAttribute('data-mentions-me'))
      .toBe('true')

    // Editing the message offers the same: ↑ opens it, Enter names Carol, Enter saves.
    await composer.press('ArrowUp')
    const editor = a.page.getByTestId('edit-input')
    await editor.press('End')
    await editor.pressSequentially(' @car')
    await expect.poll(offered).toEqual([`Carol Offer @${carol.username}`])
    await editor.press('Enter')
    await expect
      .poll(() => editor.inputValue())
      .toBe(`thanks @${b.username} and all @${carol.username} `)
    await editor.press('Enter')
    await editor.waitFor({ state: 'detached' })
    await message(a.page, `and all @${carol.username}`).waitFor()

    // On a phone, a tap names one, and the keyboard stays in the box.
    const c = carol.page
    await c.goto(`/rooms/${roomId}`)
    const box = c.getByTestId('composer')
    await box.tap()
    await box.pressSequentially('@ali')
    await c.getByTestId('mention-option').tap()
    await expect.poll(() => box.inputValue()).toBe(`@${a.username} `)
    expect(await box.evaluate((el) => el === document.activeElement)).toBe(true)
    expect(await c.getByTestId('mention-option').count()).toBe(0)
    // The edit named Carol: her copy of the message stands out.
    await expect
      .poll(() => message(c, 'and all').getAttribute('data-mentions-me'))
      .toBe('true')
  })

  it("an owner makes a member admin and removes them from the member list; they see it live", async () => {
    const a = alice.page
    const b = bob.page
    await createRoom(a, 'moderated', { private: true })
    await invite(a, bob.username)
    // Bob is told who added him.
    await b.getByRole('status').filter({ hasText: `${alice.displayName} added you to moderated` }).waitFor()
    await openRoom(b, 'moderated')
    expect(await b.getByTestId('invite-button').count()).toBe(0) // a plain member of a private room
    // Bob has nothing to manage; Alice can manage Bob, and not herself.
    await expect.poll(() => b.getByTestId('member-item').count()).toBe(2)
    expect(await b.getByTestId('member-manage').count()).toBe(0)
    const bobRow = a.locator(`[data-testid="member-item"][data-user-id]`).filter({ hasText: `@${bob.username}` })
    await expect.poll(() => a.getByTestId('member-manage').count()).toBe(1)

    await bobRow.getByTestId('member-manage').click()
    await bobRow.getByTestId('member-set-role').click()
    await expect.poll(async () => (await bobRow.getByTestId('member-role').textContent())?.trim()).toBe('admin')
    // Bob's own view follows: an admin of a private room may invite.
    await b.getByTestId('invite-button').waitFor()
    // The owner about to leave is told the room passes on.
    await a.getByTestId('leave-room').click()
    expect(await a.getByTestId('confirm-dialog').innerText()).toContain('You own it: it passes to')
    await a.getByTestId('confirm-dialog').getByRole('button', { name: 'Cancel' }).click()
    await a.getByTestId('confirm-dialog').waitFor({ state: 'detached' })

    await bobRow.getByTestId('member-manage').click()
    await bobRow.getByTestId('member-kick').click()
    await a.getByTestId('confirm-accept').click()
    await bobRow.waitFor({ state: 'detached' })
    // Bob is taken out of the room and told why.
    await roomItem(b, 'moderated').waitFor({ state: 'detached' })
    await b.getByText('You were removed from moderated').waitFor()
    await b.waitForURL((url) => !url.pathname.startsWith('/rooms/'))
    // The owner about to leave, alone now, is told whoever joins next owns it.
    await expect.poll(() => a.getByTestId('room-member-count').innerText()).toBe('1 member')
    await a.getByTestId('leave-room').click()
    expect(await a.getByTestId('confirm-dialog').innerText()).toContain(
      "You're the last one in it: it stays, and whoever joins it next owns it.",
    )
    await a.getByTestId('confirm-dialog').getByRole('button', { name: 'Cancel' }).click()
  })

  it('the room directory shows rooms opened since it was last looked at', async () => {
    const b = bob.page
    await createRoom(b, 'bob-desk')
    await b.getByTestId('browse-link').click()
    await b.getByTestId('browse-search').waitFor()
    await createRoom(alice.page, 'fresh-lobby')
    // Away and back within a few seconds: the directory is asked again, not served from a stale copy.
    await roomItem(b, 'bob-desk').click()
    await b.getByTestId('browse-link').click()
    await b.getByTestId('browse-room').filter({ hasText: 'fresh-lobby' }).waitFor()
  })

  it('the room directory fits a phone screen: search and the create button side by side', async () => {
    const { context, page } = await e2e.newPage(PHONE)
    await signIn(page, alice.username)
    await page.goto('/browse')
    const create = page.getByRole('button', { name: 'Create room' })
    await create.waitFor()
    const box = (await create.boundingBox())!
    expect(box.x + box.width).toBeLessThanOrEqual(page.viewportSize()!.width)
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(page.viewportSize()!.width)
    await context.close()
  })
})

