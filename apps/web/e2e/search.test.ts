/**
 * Searching a room's messages from its header (messages.search): what is
 * found, newest first, with the words marked; older results a page at a
 * time; a search that finds nothing says so; offline it says it needs the
 * connection.
 */
import type { Locator } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  bannerState,
  createRoom,
  message,
  PHONE,
  say,
  sendElsewhere,
  twoInPrivateRoom,
  useE2E,
} from './harness.ts'

const e2e = useE2E()

/**
 * How a message the reader was taken to (a search result, a link) shows, seen
 * at one moment (the light goes after 2 s): in the list's view, focused, lit.
 */
function shownAt(row: Locator) {
  return row.evaluate((el) => {
    const box = el.getBoundingClientRect()
    const list = document.querySelector('[data-testid="message-list"]')!.getBoundingClientRect()
    return {
      inView: box.top >= list.top && box.bottom <= list.bottom,
      focused: el === document.activeElement,
      lit: el.getAttribute('data-found') === '',
    }
  })
}

describe('search', () => {
  it('finds what was said in the room by a few words, newest first, the words marked, older results on demand', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'ops', [
      'Alice Search',
      'Bob Search',
    ])
    await sendElsewhere(alice.page, roomId, [
      'The Wi-Fi password is on the fridge',
      'lunch at noon?',
    ])
    await sendElsewhere(bob.page, roomId, ['who moved the wi-fi router'])
    const b = bob.page
    await b.goto(`/rooms/${roomId}`)
    await b.getByTestId('composer').waitFor()

    await b.getByTestId('search-button').click()
    const input = b.getByTestId('search-input')
    // Ready to type at once.
    await expect.poll(() => input.evaluate((el) => el === document.activeElement)).toBe(true)
    await input.fill('WI-FI')
    await input.press('Enter')
    const summary = b.getByTestId('search-summary')
    await expect.poll(() => summary.innerText()).toBe('2 messages found for “WI-FI”')
    const results = b.getByTestId('search-result')
    expect(await results.locator('strong').allInnerTexts()).toEqual(['Bob Search', 'Alice Search'])
    expect(await results.locator('.text').allInnerTexts()).toEqual([
      'who moved the wi-fi router',
      'The Wi-Fi password is on the fridge',
    ])
    // Said just now: the day as the message list names it, then the time.
    expect(await results.locator('time').allInnerTexts()).toEqual([
      expect.stringMatching(/^Today at \d/),
      expect.stringMatching(/^Today at \d/),
    ])
    expect(await results.locator('mark').allInnerTexts()).toEqual(['wi-fi', 'Wi-Fi'])

    await input.fill('printer')
    await input.press('Enter')
    await expect.poll(() => summary.innerText()).toBe('No messages found for “printer”')
    expect(await results.count()).toBe(0)

    // More than a page (20): the newest first, then the older ones on demand.
    await sendElsewhere(
      alice.page,
      roomId,
      Array.from({ length: 25 }, (_, i) => `deploy log ${i + 1}`),
    )
    await input.fill('deploy log')
    await input.press('Enter')
    await expect.poll(() => summary.innerText()).toBe('20+ messages found for “deploy log”')
    expect(await results.first().innerText()).toContain('deploy log 25')
    await b.getByTestId('search-more').click()
    await expect.poll(() => summary.innerText()).toBe('25 messages found for “deploy log”')
    expect(await results.last().innerText()).toContain('deploy log 1')
    expect(await b.getByTestId('search-more').count()).toBe(0)
  })

  it('a result takes the reader to its message in the conversation, fetching older pages to reach it, lit and focused', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'history', ['Ada Far', 'Bo Far'])
    await sendElsewhere(alice.page, roomId, ['the door code is 4711'])
    // More than a page (50) after it: the room opens without it.
    await sendElsewhere(
      alice.page,
      roomId,
      Array.from({ length: 70 }, (_, i) => `later ${i + 1}`),
    )
    const b = bob.page
    await b.goto(`/rooms/${roomId}`)
    await message(b, 'later 70').waitFor()
    expect(await message(b, 'door code').count()).toBe(0)

    await b.getByTestId('search-button').click()
    await b.getByTestId('search-input').fill('door code')
    await b.getByTestId('search-input').press('Enter')
    await b.getByTestId('search-result').click()
    await b.getByTestId('search-input').waitFor({ state: 'detached' })
    const found = message(b, 'door code')
    await found.waitFor()
    await expect.poll(() => shownAt(found)).toEqual({ inView: true, focused: true, lit: true })
  })

  it('a link copied from a message opens the room at it for someone else, fetching older pages to reach it, lit and focused', async () => {
    const alice = await e2e.signUp('Ada Link')
    const a = alice.page
    await alice.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: e2e.base,
    })
    const roomId = await createRoom(a, 'linked')
    await say(a, 'the plan is in the wiki')
    const shared = message(a, 'the plan is in the wiki')
    await shared.hover()
    await shared.getByTestId('copy-link-button').click()
    await a.getByText('Link copied').waitFor()
    const link = await a.evaluate(() => navigator.clipboard.readText())
    const seq = await shared.getAttribute('data-seq')
    expect(link).toBe(`${e2e.base}/rooms/${roomId}?m=${seq}`)
    // More than a page (50) after it: the room would open without it.
    await sendElsewhere(
      a,
      roomId,
      Array.from({ length: 60 }, (_, i) => `later ${i + 1}`),
    )

    // Bob, not in the room yet (it is public), follows the link.
    const bob = await e2e.signUp('Bo Link')
    const b = bob.page
    await b.goto(link)
    const found = message(b, 'the plan is in the wiki')
    await found.waitFor()
    await expect.poll(() => shownAt(found)).toEqual({ inView: true, focused: true, lit: true })
    // The address is the room's again: a reload opens it as any room.
    expect(new URL(b.url()).search).toBe('')
  })

  it('on a phone offline it searches what the device holds and says so; back online it asks the server', async () => {
    const { alice, roomId } = await twoInPrivateRoom(e2e, 'train', ['Ann Train', 'Ben Train'])
    // More than the page the phone loads: the first message stays on the server.
    await sendElsewhere(alice.page, roomId, [
      'platform 9 tonight',
      ...Array.from({ length: 50 }, (_, i) => `filler ${i + 1}`),
      'platform 4 tomorrow',
    ])
    const phone = await e2e.newPage(PHONE)
    // Alice on her phone, the same account.
    const page = phone.page
    await page.goto('/signin')
    await page.getByTestId('auth-username').fill(alice.username)
    await page.getByTestId('auth-password').fill('correct horse battery')
    await page.getByTestId('auth-submit').click()
    await page.waitForURL((url) => !url.pathname.startsWith('/signin'))
    await page.goto(`/rooms/${roomId}`)
    await message(page, 'platform 4 tomorrow').waitFor()

    await phone.context.setOffline(true)
    try {
      await expect.poll(() => bannerState(page)).toBe('offline')
      // On a phone it is under "More", which keeps the header for the room's name.
      await page.getByTestId('room-more').tap()
      await page.getByTestId('more-search').tap()
      await page.getByTestId('search-input').fill('platform')
      await page.getByTestId('search-input').press('Enter')
      await expect
        .poll(() => page.getByTestId('search-summary').innerText())
        .toBe('1 message found for “platform” in the 50 messages on this device')
      expect(await page.getByTestId('search-result').allInnerTexts()).toEqual([
        expect.stringContaining('platform 4 tomorrow'),
      ])
      expect(await page.getByTestId('offline-note').innerText()).toBe(
        'Offline: searching the messages on this device. Older ones need the connection.',
      )
      expect(await page.getByTestId('search-more').count()).toBe(0)
    } finally {
      await phone.context.setOffline(false)
    }
    // Back online, Search asks the server, which has the older one too.
    await page.getByTestId('offline-note').waitFor({ state: 'detached' })
    await page.getByTestId('search-submit').tap()
    await expect
      .poll(() => page.getByTestId('search-summary').innerText())
      .toBe('2 messages found for “platform”')
  })
})
