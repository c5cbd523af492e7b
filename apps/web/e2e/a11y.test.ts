/**
 * Accessibility: axe-core's WCAG 2.1 A and AA rules find nothing on the
 * screens people use — sign-in, sign-up (also showing its errors), a room with messages and its member list
 * (someone offline in it; a message naming the reader; light and dark, desktop and phone),
 * the composer offering people to mention, the directory and its dialogs (search with a result among them).
 * axe is evaluated through the DevTools protocol: the app's CSP (rightly)
 * refuses injected script tags.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createRoom, invite, message, openRoom, PHONE, say, useE2E } from './harness.ts'

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

interface Violation {
  id: string
  impact: string | null
  help: string
  nodes: string[]
}

/** The WCAG 2.1 A/AA violations on the page as it is now. */
async function violations(page: Page): Promise<Violation[]> {
  await page.evaluate(axeSource)
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[]; failureSummary?: string }[] }[] }> } }).axe
    const result = await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`),
    }))
  })
}

const e2e = useE2E()

describe('accessibility (axe, WCAG 2.1 AA)', () => {
  it('sign-in and sign-up, a room in light and dark, on a desktop and a phone, dialogs, the directory', async () => {
    // No transitions: axe measures colours as they settle, not mid-fade.
    const still = { reducedMotion: 'reduce' } as const
    const { page: visitor } = await e2e.newPage(still)
    await visitor.goto('/signin')
    await visitor.getByTestId('auth-username').waitFor()
    expect(await violations(visitor), 'sign-in').toEqual([])
    await visitor.goto('/signup')
    await visitor.getByTestId('auth-display-name').waitFor()
    expect(await violations(visitor), 'sign-up').toEqual([])
    // Each field's problem under it, in the danger colour: still readable.
    await visitor.getByTestId('auth-submit').click()
    await visitor.locator('[aria-invalid="true"]').first().waitFor()
    expect(await violations(visitor), 'sign-up with errors').toEqual([])

    const alice = await e2e.signUp('Alice Martin', still)
    const bob = await e2e.signUp('Bob Chen', { ...PHONE, colorScheme: 'dark', ...still })
    const cara = await e2e.signUp('Cara Diaz', still)
    const a = alice.page
    const b = bob.page
    await createRoom(a, 'a11y', { topic: 'Checking what everyone can read' })
    await invite(a, bob.username)
    await invite(a, cara.username)
    await cara.context.close() // an offline member in the list
    await say(a, 'Hello **everyone** — notes at https://example.com/notes')
    await say(a, `@${bob.username} can you check @${cara.username}'s notes?`)
    await b.goto('/')
    await openRoom(b, 'a11y')
    await say(b, 'Reading you loud and clear')
    await message(a, 'loud and clear').waitFor()
    await expect.poll(() => a.locator('[data-testid="member-item"][data-online="false"]').count()).toBe(1)
    expect(await a.getByTestId('member-item').count()).toBe(3)
    expect(await violations(a), 'room, desktop, light').toEqual([])
    await expect
      .poll(() => message(b, 'can you check').getAttribute('data-mentions-me'))
      .toBe('true')
    expect(await violations(b), 'room, phone, dark').toEqual([])

    const composer = a.getByTestId('composer')
    await composer.pressSequentially('@')
    await a.getByTestId('mention-options').waitFor()
    expect(await violations(a), 'people offered to mention').toEqual([])
    await composer.press('Escape')
    await composer.fill('')

    const mine = message(a, 'Hello')
    await mine.hover()
    await mine.getByTestId('delete-button').click()
    await a.getByTestId('confirm-accept').waitFor()
    expect(await violations(a), 'confirm dialog').toEqual([])
    await a.keyboard.press('Escape')

    await a.getByTestId('confirm-dialog').waitFor({ state: 'detached' })
    await a.getByTestId('edit-room-button').click()
    await a.getByTestId('room-name-input').waitFor()
    expect(await violations(a), 'edit room dialog').toEqual([])
    await a.keyboard.press('Escape')

    await a.getByTestId('room-name-input').waitFor({ state: 'detached' })
    await a.getByTestId('open-direct').click()
    await a.getByTestId('direct-username').waitFor()
    expect(await violations(a), 'direct message dialog').toEqual([])
    await a.keyboard.press('Escape')

    await a.getByTestId('direct-username').waitFor({ state: 'detached' })
    await a.getByTestId('search-button').click()
    await a.getByTestId('search-input').fill('hello')
    await a.getByTestId('search-input').press('Enter')
    await a.getByTestId('search-result').first().waitFor()
    expect(await violations(a), 'search dialog with a result').toEqual([])
    await a.keyboard.press('Escape')

    await a.getByTestId('search-input').waitFor({ state: 'detached' })
    await a.getByTestId('account-button').click()
    await a.getByTestId('sign-out-everywhere').waitFor()
    expect(await violations(a), 'account dialog').toEqual([])
    await a.keyboard.press('Escape')

    await a.goto('/browse')
    await a.getByTestId('browse-room').first().waitFor()
    expect(await violations(a), 'directory').toEqual([])
  }, 120_000) // about ten axe runs and three sign-ups: near the 60-s default on a busy 2-core machine
})
