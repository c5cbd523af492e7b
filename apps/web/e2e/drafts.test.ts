/**
 * A half-written message waits in its room: after leaving the room screen (a
 * phone's back button, the directory on a desktop) and after a reload. A sent
 * message takes its draft with it, and signing out deletes the drafts (a
 * shared computer must not show them to the next person).
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  bannerState,
  createRoom,
  holdStore,
  message,
  pendingCount,
  PHONE,
  roomItem,
  say,
  signIn,
  storedBodies,
  useE2E,
  waitForSavedRoom,
  waitForServiceWorker,
} from './harness.ts'

const e2e = useE2E()

const composerText = (page: Page) => page.getByTestId('composer').inputValue()

/** Opens a room from the room list and waits for its composer. */
async function reopen(page: Page, name: string): Promise<void> {
  await roomItem(page, name).click()
  await expect.poll(() => page.getByTestId('room-title').innerText()).toBe(name)
  await page.getByTestId('composer').waitFor()
}

describe('drafts', () => {
  it('on a phone, a draft is still there after going back to the rooms and after a reload', async () => {
    const { page } = await e2e.signUp('Dana Drafts', PHONE)
    await page.goto('/') // a phone's room list (sign-up lands in the directory)
    await createRoom(page, 'plans')
    await page.getByTestId('composer').fill('Shall we meet at')

    await page.getByRole('link', { name: 'Back to rooms' }).click()
    await page.getByTestId('room-list').waitFor()
    await reopen(page, 'plans')
    expect(await composerText(page)).toBe('Shall we meet at')

    await page.reload()
    await page.getByTestId('composer').waitFor()
    expect(await composerText(page)).toBe('Shall we meet at')

    // Sent: the draft goes with it, also after a reload.
    await page.getByTestId('composer').fill('Shall we meet at noon?')
    await page.getByTestId('composer').press('Enter')
    await expect.poll(() => composerText(page)).toBe('')
    await page.reload()
    await page.getByTestId('composer').waitFor()
    await page.getByTestId('message-item').first().waitFor()
    expect(await composerText(page)).toBe('')
  })

  it('on a desktop, each room keeps its draft across the directory; sign-out deletes them', async () => {
    const user = await e2e.signUp('Eli Drafts')
    const { page } = user
    await createRoom(page, 'first')
    await page.getByTestId('composer').fill('Draft for first')
    await createRoom(page, 'second')
    expect(await composerText(page)).toBe('')
    await page.getByTestId('composer').fill('Draft for second')
    // The room list says what was left written where; not for the open room, whose box shows it.
    const lastLine = (name: string) =>
      roomItem(page, name).getByTestId('room-last-message').innerText()
    expect(await lastLine('first')).toBe('Draft: Draft for first')
    expect(await lastLine('second')).toBe('No messages yet')

    await page.getByTestId('browse-link').click()
    await page.getByTestId('browse-search').waitFor()
    await expect.poll(() => lastLine('second')).toBe('Draft: Draft for second')
    await reopen(page, 'first')
    expect(await composerText(page)).toBe('Draft for first')
    await reopen(page, 'second')
    expect(await composerText(page)).toBe('Draft for second')
    await say(page, 'Sent from second')
    // Sent, not waiting: with a message still in the outbox, sign-out asks first
    // (sign-out.test.ts), and this test's click would wait on that question.
    await expect
      .poll(() => message(page, 'Sent from second').getAttribute('data-pending'))
      .toBe('false')
    await roomItem(page, 'first').click()
    await expect.poll(() => lastLine('second')).toBe('You: Sent from second')

    await page.getByTestId('sign-out').click()
    await page.waitForURL(/\/signin/)
    const kept = await page.evaluate(() =>
      Object.keys(localStorage).filter((k) => k.startsWith('parley:drafts')),
    )
    expect(kept).toEqual([])

    await signIn(page, user.username)
    await reopen(page, 'first')
    expect(await composerText(page)).toBe('')
  })

  it('a message sent offline as the app is closed, before the device stored it, waits in the app opened again; its draft is gone', async () => {
    const { page, context } = await e2e.signUp('Finn Drafts')
    const roomId = await createRoom(page, 'late')
    await waitForServiceWorker(page)
    await waitForSavedRoom(page, roomId, 0) // what an offline start shows
    await context.setOffline(true)
    let again!: Page
    try {
      await expect.poll(() => bannerState(page)).toBe('offline')
      await page.evaluate(holdStore, 'outbox')
      await page.getByTestId('composer').fill('Last words before the tunnel')
      await page.getByTestId('composer').press('Enter')
      await message(page, 'Last words before the tunnel').waitFor()
      expect(await composerText(page)).toBe('')
      await page.close() // before the device has stored it in IndexedDB

      again = await context.newPage()
      await again.goto('/') // offline: from the service worker
      await reopen(again, 'late')
      await message(again, 'Last words before the tunnel').waitFor()
      expect(await pendingCount(again)).toBe(1)
      expect(await composerText(again)).toBe('') // not both a message and its text to send again
    } finally {
      await context.setOffline(false)
    }
    // Back online, it is sent, once.
    await expect.poll(() => pendingCount(again), { timeout: 20_000 }).toBe(0)
    expect(await storedBodies(again, roomId)).toEqual(['Last words before the tunnel'])
  })
})
