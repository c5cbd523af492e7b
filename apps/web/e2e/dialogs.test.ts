/**
 * The username dialogs (direct message, invite): "@bob" finds bob, as the
 * app shows names, and a name that cannot be anyone's is refused before
 * anything is sent, in the sign-up form's plain words (not zod's text).
 * Every dialog, however it closes (Cancel, an answer, a success), hands the
 * focus back to the button that opened it, not to the page's <body>.
 */
import type { Locator, Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createRoom, invite, message, PHONE, roomItem, say, useE2E } from './harness.ts'

const e2e = useE2E()

/** The note under a field (its aria-describedby). */
async function noteOf(page: Page, input: Locator): Promise<string> {
  const id = await input.getAttribute('aria-describedby')
  return id ? page.locator(`[id="${id}"]`).innerText() : ''
}

/** The test id of the focused element (its tag name when it has none). */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement
    return el?.getAttribute('data-testid') ?? el?.tagName ?? null
  })

describe('username dialogs', () => {
  it('take "@name" with spaces around, and say what is wrong with a name before asking the server', async () => {
    const alice = await e2e.signUp('Alice Martin')
    const bob = await e2e.signUp('Bob Chen')
    const cara = await e2e.signUp('Cara Diaz')
    const a = alice.page
    const asked: string[] = []
    a.on('request', (req) => {
      const path = new URL(req.url()).pathname
      if (/rooms\.(direct|invite)/.test(path)) asked.push(path)
    })

    await a.getByTestId('open-direct').click()
    const direct = a.getByTestId('direct-username')
    await direct.fill('ab')
    await direct.press('Enter')
    await expect.poll(() => direct.getAttribute('aria-invalid')).toBe('true')
    expect(await noteOf(a, direct)).toBe('Use 3–32 letters, digits, _ . or -')
    expect(await a.getByRole('dialog').innerText()).not.toMatch(/too small|expected/i)
    expect(await direct.evaluate((el) => el === document.activeElement)).toBe(true)
    expect(asked).toEqual([])

    await direct.fill(`  @${bob.username} `)
    expect(await direct.getAttribute('aria-invalid')).toBeNull()
    await a.getByTestId('direct-submit').click()
    await expect.poll(() => a.getByTestId('room-peer').innerText()).toBe(`@${bob.username}`)

    await createRoom(a, 'crew', { private: true })
    await a.getByTestId('invite-button').click()
    await a.getByTestId('invite-username').fill(`@${cara.username}`)
    await a.getByTestId('invite-submit').click()
    await a.getByTestId('invite-username').waitFor({ state: 'detached' })
    await roomItem(cara.page, 'crew').waitFor()
  })
})

describe('closing a dialog', () => {
  it('returns the focus to the button that opened it, however it closes', async () => {
    const alice = await e2e.signUp('Alice Martin')
    const bob = await e2e.signUp('Bob Chen')
    const a = alice.page
    await createRoom(a, 'focus-room')
    await say(a, 'Check the focus')

    // Cancel: create a room, direct message.
    for (const [opener, input] of [
      ['create-room', 'room-name-input'],
      ['open-direct', 'direct-username'],
    ] as const) {
      await a.getByTestId(opener).click()
      await a.getByTestId(input).waitFor()
      await a.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
      await a.getByTestId(input).waitFor({ state: 'detached' })
      expect(await focused(a)).toBe(opener)
    }

    // The app's confirm dialog, answered with Cancel.
    const mine = message(a, 'Check the focus')
    await mine.hover()
    await mine.getByTestId('delete-button').click()
    const confirm = a.getByTestId('confirm-dialog')
    await confirm.getByRole('button', { name: 'Cancel' }).click()
    await confirm.waitFor({ state: 'detached' })
    expect(await focused(a)).toBe('delete-button')

    // An invite that succeeds closes its dialog by itself.
    await invite(a, bob.username)
    expect(await focused(a)).toBe('invite-button')
  })

  it('a room just made offers "Invite people" where its messages will be; invited, the keyboard goes to the composer to say hello', async () => {
    const alice = await e2e.signUp('Alice Martin')
    const bob = await e2e.signUp('Bob Chen')
    const a = alice.page
    await createRoom(a, 'just-made', { private: true })
    await a.getByText("It's just you here so far.").waitFor()
    await a.getByTestId('empty-invite').click()
    await a.getByTestId('invite-username').fill(bob.username)
    await a.getByTestId('invite-submit').click()
    await a.getByTestId('invite-username').waitFor({ state: 'detached' })
    // Bob is in: nobody left to ask in first, and the keyboard is where hello is typed.
    await a.getByText('No messages yet. Say hello!').waitFor()
    expect(await a.getByTestId('empty-invite').count()).toBe(0)
    await expect.poll(() => focused(a)).toBe('composer')

    // Bob is not alone in it: he is asked to say hello, not to invite.
    await roomItem(bob.page, 'just-made').click()
    await bob.page.getByText('No messages yet. Say hello!').waitFor()
    expect(await bob.page.getByTestId('empty-invite').count()).toBe(0)
  })

  it("on a phone too, where the header's invite is small; invited, the keyboard stays down until the reader asks for it", async () => {
    const alice = await e2e.signUp('Alice Martin', PHONE)
    const bob = await e2e.signUp('Bob Chen')
    const a = alice.page
    await createRoom(a, 'just-made-phone', { private: true })
    await a.getByTestId('empty-invite').tap()
    await a.getByTestId('invite-username').fill(bob.username)
    await a.getByTestId('invite-submit').tap()
    await a.getByTestId('invite-username').waitFor({ state: 'detached' })
    await a.getByText('No messages yet. Say hello!').waitFor()
    expect(await focused(a)).not.toBe('composer')
  })
})

describe('the create-room dialog', () => {
  it('starts its labels, "Who can join" too, at one edge', async () => {
    const { page } = await e2e.signUp('Lea Lines')
    await page.getByTestId('create-room').click()
    const dialog = page.getByRole('dialog')
    // Where the words start, not their boxes: a legend's padding is inside its box.
    const textLeft = (el: Element) => {
      const range = document.createRange()
      range.selectNodeContents(el)
      return Math.round(range.getBoundingClientRect().x)
    }
    const lefts = await Promise.all(
      [dialog.getByText('Name', { exact: true }), dialog.getByText('Who can join')].map((label) =>
        label.evaluate(textLeft),
      ),
    )
    expect(new Set(lefts).size, `labels start at ${lefts.join(', ')} px`).toBe(1)
  })
})
