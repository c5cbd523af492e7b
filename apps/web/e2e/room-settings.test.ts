/**
 * An owner or admin renames a room and changes its topic from the room's
 * header. Everyone sees the change at once: a member reading the room in its
 * header, with a notice of who changed what, a member elsewhere in their room
 * list (with no unread badge: a new name is not a message). A plain member is
 * not offered the edit.
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  createRoom,
  mutate,
  openRoom,
  query,
  roomItem,
  textNow,
  unreadBadge,
  useE2E,
} from './harness.ts'

const e2e = useE2E()

const title = (page: Page) => page.getByTestId('room-title').innerText()
const topic = (page: Page) => textNow(page.getByTestId('room-topic'))

describe('editing a room', () => {
  it("the owner's new name and topic reach every member at once; a member gets the edit when made admin", async () => {
    const alice = await e2e.signUp('Alice Martin')
    const bob = await e2e.signUp('Bob Chen')
    const cara = await e2e.signUp('Cara Diaz')
    const a = alice.page
    const roomId = await createRoom(a, 'roadmap', { topic: 'Q3 plans' })
    await mutate(bob.page, 'rooms.join', { roomId })
    await mutate(cara.page, 'rooms.join', { roomId })
    await openRoom(bob.page, 'roadmap')
    await roomItem(cara.page, 'roadmap').waitFor()
    for (const page of [a, bob.page, cara.page]) await page.evaluate(recordNotices)

    // A plain member is not offered it.
    expect(await bob.page.getByTestId('edit-room-button').count()).toBe(0)

    await a.getByTestId('edit-room-button').click()
    const name = a.getByTestId('room-name-input')
    expect(await name.inputValue()).toBe('roadmap')
    expect(await a.getByTestId('room-topic-input').inputValue()).toBe('Q3 plans')
    // Nothing changed, or no name: nothing to save.
    expect(await a.getByTestId('edit-room-submit').isDisabled()).toBe(true)
    await name.fill('   ')
    expect(await a.getByTestId('edit-room-submit').isDisabled()).toBe(true)

    await name.fill('roadmap-2027')
    await a.getByTestId('room-topic-input').fill('Plans for next year')
    await a.getByTestId('edit-room-submit').click()
    await name.waitFor({ state: 'detached' })
    await expect.poll(() => title(a)).toBe('roadmap-2027')
    expect(await topic(a)).toBe('Plans for next year')

    // Bob, reading the room, sees its header change and is told who changed it;
    // Cara, elsewhere, sees her room list change, and is not interrupted.
    await expect.poll(() => title(bob.page)).toBe('roadmap-2027')
    await expect.poll(() => topic(bob.page)).toBe('Plans for next year')
    await expect
      .poll(() => notices(bob.page))
      .toEqual(['Alice Martin renamed the room to “roadmap-2027” and changed its topic'])
    // Alice made it: she is not told her own change again.
    await expect.poll(() => notices(a)).toEqual(['Room updated'])
    await roomItem(cara.page, 'roadmap-2027').waitFor()
    expect(await roomItem(cara.page, 'roadmap').count()).toBe(0)
    expect(await unreadBadge(cara.page, 'roadmap-2027')).toBe('')
    expect(await notices(cara.page)).toEqual([])

    // The server keeps it: a reload shows the new name.
    await bob.page.reload()
    await expect.poll(() => title(bob.page)).toBe('roadmap-2027')

    // Made admin, Bob is offered the edit, and clears the topic: the header shows the member count.
    await mutate(a, 'rooms.setRole', { roomId, userId: await userId(bob.page), role: 'admin' })
    await bob.page.getByTestId('edit-room-button').click()
    await bob.page.getByTestId('room-topic-input').fill('')
    await bob.page.getByTestId('edit-room-submit').click()
    await bob.page.getByTestId('room-topic-input').waitFor({ state: 'detached' })
    await expect.poll(() => topic(a)).toBeNull()
    expect(await a.getByTestId('room-member-count').innerText()).toBe('3 members')
    await expect.poll(() => notices(a)).toContain('Bob Chen cleared the topic')
  })
})

describe('a name or topic longer than the limit', () => {
  it('a pasted topic is kept whole: the field says how far over it is, and Save waits until it fits; a new room’s name the same', async () => {
    const { page } = await e2e.signUp('Tess Long')
    const roomId = await createRoom(page, 'long-topic')
    await page.getByTestId('edit-room-button').click()
    const field = page.getByTestId('room-topic-input')
    const length = page.getByTestId('room-topic-length')
    const save = page.getByTestId('edit-room-submit')
    const words = 'a topic pasted from a long document. '.repeat(8) // 296 characters
    await field.focus()
    await page.keyboard.insertText(words) // as a paste: a cut one lost its end unseen
    expect(await field.inputValue()).toBe(words)
    await expect.poll(() => length.innerText()).toBe('Too long by 39 characters')
    expect(await field.getAttribute('aria-invalid')).toBe('true')
    expect(await save.isDisabled()).toBe(true)
    await field.press('Enter')
    expect(await field.inputValue()).toBe(words) // Enter saves nothing and keeps it all
    expect((await query<{ topic: string | null }>(page, 'rooms.get', { roomId })).topic).toBeNull()

    // Cut to fit, it counts down and saves, whole.
    const fits = words.slice(0, 250)
    await field.fill(fits)
    await expect.poll(() => length.innerText()).toBe('6')
    expect(await field.getAttribute('aria-invalid')).toBeNull()
    await save.click()
    await field.waitFor({ state: 'detached' })
    await expect
      .poll(async () => (await query<{ topic: string }>(page, 'rooms.get', { roomId })).topic)
      .toBe(fits.trim())

    // A new room's name: Create waits until it fits.
    await page.getByTestId('create-room').click()
    const name = page.getByTestId('room-name-input')
    await name.fill('n'.repeat(70))
    await expect
      .poll(() => page.getByTestId('room-name-length').innerText())
      .toBe('Too long by 6 characters')
    expect(await page.getByTestId('create-room-submit').isDisabled()).toBe(true)
    await name.fill('n'.repeat(64))
    await expect.poll(() => page.getByTestId('room-name-length').innerText()).toBe('0')
    await page.getByTestId('create-room-submit').click()
    await expect.poll(() => page.getByTestId('room-title').innerText()).toBe('n'.repeat(64))
  })
})

describe('a dialog left open', () => {
  it('closes when Back takes the page to another room, so it cannot rename that one', async () => {
    const alice = await e2e.signUp('Alice Martin')
    const a = alice.page
    await createRoom(a, 'first-room')
    await createRoom(a, 'second-room')
    await a.getByTestId('edit-room-button').click()
    await a.getByTestId('room-name-input').fill('renamed')
    await a.goBack()
    await expect.poll(() => title(a)).toBe('first-room')
    await a.getByTestId('room-name-input').waitFor({ state: 'detached' })
  })
})

/**
 * In the page: records each notice as it shows at the top, so that one gone by
 * itself (after 4 s) before the test looked still counts.
 */
function recordNotices(): void {
  const shown: string[] = []
  Object.assign(window, { noticesShown: shown })
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node instanceof HTMLElement && node.matches('.toasts .toast')) {
          shown.push(node.textContent!.trim())
        }
      }
    }
  }).observe(document.body, { childList: true, subtree: true })
}
/** The notices the page has shown since `recordNotices`, oldest first. */
const notices = (page: Page) =>
  page.evaluate(() => (window as unknown as { noticesShown: string[] }).noticesShown)

async function userId(page: Page): Promise<string> {
  const me = await query<{ user: { id: string } } | null>(page, 'auth.me')
  if (!me) throw new Error('not signed in')
  return me.user.id
}
