/**
 * Keyboard and focus: the first Tab reaches a skip link; opening a room (from
 * the sidebar, or by creating it) puts the keyboard in its composer on a
 * desktop, and on a phone only on the room's heading (no keyboard popping up
 * unasked); a message's tool bar, out of sight until wanted, is still reached
 * by Tab and screen readers; Alt+↑/↓ and Ctrl+K move between rooms.
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  createRoom,
  message,
  mutate,
  PHONE,
  roomItem,
  sendElsewhere,
  unreadBadge,
  useE2E,
} from './harness.ts'

const e2e = useE2E()

/** What has the keyboard focus: its test id, else its tag and text. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement
    if (!el || el === document.body) return 'body'
    const id = el.getAttribute('data-testid')
    return id ?? `${el.tagName.toLowerCase()} ${(el.textContent ?? '').trim().slice(0, 40)}`
  })
}

describe('keyboard', () => {
  it('desktop: Tab first reaches the skip link; Enter on a room in the sidebar lands in its composer', async () => {
    const { page } = await e2e.signUp('Kim Tabor')
    await createRoom(page, 'kb-first')
    // Creating a room lands in it, ready to type (it fell to <body>).
    await expect.poll(() => focused(page)).toBe('composer')
    await createRoom(page, 'kb-second')
    await expect.poll(() => focused(page)).toBe('composer')

    // From the top of a fresh page, the first stop is the skip link, shown while focused.
    await page.goto('/')
    await roomItem(page, 'kb-first').waitFor()
    await page.keyboard.press('Tab')
    expect(await focused(page)).toBe('a Skip to main content')
    const skip = page.getByRole('link', { name: 'Skip to main content' })
    // It slides in (a short transition): wait for it to be on screen.
    await expect.poll(async () => (await skip.boundingBox())?.y).toBeGreaterThanOrEqual(0)
    expect((await skip.boundingBox())!.width).toBeGreaterThan(1)

    // Tab on through the sidebar to a room; Enter opens it with the keyboard in the composer.
    for (
      let i = 0;
      i < 20 && !(await roomItem(page, 'kb-first').evaluate((el) => el === document.activeElement));
      i++
    ) {
      await page.keyboard.press('Tab')
    }
    expect(await focused(page)).toBe('room-list-item')
    await page.keyboard.press('Enter')
    await expect.poll(() => page.getByTestId('room-title').innerText()).toBe('kb-first')
    await expect.poll(() => focused(page)).toBe('composer')
    await page.keyboard.type('sent without touching the mouse')
    await page.keyboard.press('Enter')
    await message(page, 'sent without touching the mouse').waitFor()

    // A message's tool bar is out of sight until the message is hovered or
    // focused, yet screen readers find its buttons and Tab reaches them.
    const sent = message(page, 'sent without touching the mouse')
    const react = sent.getByRole('button', { name: 'Add reaction' })
    const bar = react.locator('xpath=..')
    expect((await bar.boundingBox())!.width).toBeLessThanOrEqual(1)
    expect(await page.getByRole('button', { name: 'Edit message' }).count()).toBe(1)
    await sent.focus()
    await page.keyboard.press('Tab')
    expect(await focused(page)).toBe('react-button')
    expect((await bar.boundingBox())!.width).toBeGreaterThan(60)
    await page.keyboard.press('Enter')
    await page.getByRole('menu', { name: 'Add a reaction' }).waitFor()

    // In a room the skip link lands in the message box, wherever the focus was.
    await page.getByTestId('members-toggle').focus()
    await skip.focus()
    await page.keyboard.press('Enter')
    expect(await focused(page)).toBe('composer')
  })

  it('desktop: Alt+↑/↓ moves between rooms as listed (with Shift, to the nearest unread); Ctrl+K filters them and Enter opens the first', async () => {
    const { page } = await e2e.signUp('Kai Switch')
    const ben = await e2e.signUp('Ben Switch')
    const first = await createRoom(page, 'kb-alpha')
    await createRoom(page, 'kb-beta')
    await createRoom(page, 'kb-gamma')
    const title = () => page.getByTestId('room-title').innerText()
    const names = () => page.getByTestId('room-name').allInnerTexts()
    expect(await names()).toEqual(['kb-gamma', 'kb-beta', 'kb-alpha'])

    // Down the list, each room ready to type in; it stops at the bottom.
    await page.keyboard.press('Alt+ArrowDown')
    await expect.poll(title).toBe('kb-beta')
    await expect.poll(() => focused(page)).toBe('composer')
    await page.keyboard.press('Alt+ArrowDown')
    await expect.poll(title).toBe('kb-alpha')
    await page.keyboard.press('Alt+ArrowDown')
    await page.keyboard.press('Alt+ArrowUp')
    await expect.poll(title).toBe('kb-beta')

    // Ctrl+K: a few letters of a name, and Enter opens it, the filter cleared.
    await page.keyboard.press('Control+K')
    expect(await focused(page)).toBe('room-filter')
    await page.keyboard.type('gam')
    expect(await names()).toEqual(['kb-gamma'])
    await page.keyboard.press('Enter')
    await expect.poll(title).toBe('kb-gamma')
    await expect.poll(() => focused(page)).toBe('composer')
    expect(await page.getByTestId('room-filter').inputValue()).toBe('')

    // Someone writes in kb-alpha: it goes up the list, and Alt+Shift skips to it
    // from kb-beta, past kb-gamma, which has nothing new.
    await mutate(ben.page, 'rooms.join', { roomId: first })
    await sendElsewhere(ben.page, first, ['news for you'])
    await expect.poll(() => unreadBadge(page, 'kb-alpha')).toBe('1')
    await roomItem(page, 'kb-beta').click()
    await expect.poll(title).toBe('kb-beta')
    expect(await names()).toEqual(['kb-alpha', 'kb-gamma', 'kb-beta'])
    await page.keyboard.press('Alt+Shift+ArrowUp')
    await expect.poll(title).toBe('kb-alpha')
    await message(page, 'news for you').waitFor()

    // From kb-gamma, nothing unread below it (kb-beta has nothing new): Alt+Shift+↓
    // stays, so Alt+↑ goes on from kb-gamma to kb-alpha (from kb-beta it would stop at kb-gamma).
    await roomItem(page, 'kb-gamma').click()
    await expect.poll(title).toBe('kb-gamma')
    await page.keyboard.press('Alt+Shift+ArrowDown')
    await page.keyboard.press('Alt+ArrowUp')
    await expect.poll(title).toBe('kb-alpha')
  })

  it('phone: opening a room moves focus to its heading, not the composer (no keyboard unasked)', async () => {
    const { page } = await e2e.signUp('Pia Touch', PHONE)
    // A new user starts in the directory; on a phone its button is the way to a new room.
    await page.getByRole('button', { name: 'Create room' }).tap()
    await page.getByTestId('room-name-input').fill('kb-phone')
    await page.getByTestId('create-room-submit').tap()
    await page.getByTestId('composer').waitFor()
    await expect.poll(() => focused(page)).toBe('room-title')
    await page.getByRole('link', { name: 'Back to rooms' }).tap()
    await roomItem(page, 'kb-phone').tap()
    await expect.poll(() => page.getByTestId('room-title').isVisible()).toBe(true)
    await expect.poll(() => focused(page)).toBe('room-title')
    // Opened cold (a shared link, the app reopened on its last room), the heading
    // has the focus without a focus ring drawn round the room's name: it is not a control.
    await page.reload()
    await expect.poll(() => focused(page)).toBe('room-title')
    const ring = () =>
      page.getByTestId('room-title').evaluate((el) => getComputedStyle(el).outlineStyle)
    expect(await ring()).toBe('none')
  })
})
