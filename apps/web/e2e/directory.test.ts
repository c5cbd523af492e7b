/**
 * The room directory. On a phone, a public room with the longest name and
 * topic the server allows, listed among ordinary ones, must not push any
 * card's Join/Open button off the screen (an over-long topic once widened
 * every card), and the topic can still be read in full; what it offers for
 * each room (Join or Open) follows the rooms you are in as they change.
 */
import { LIMITS } from '@parley/schemas/limits'
import type { Locator } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createRoom, invite, mutate, PHONE, removeFromRoom, useE2E } from './harness.ts'

const e2e = useE2E()

describe('the room directory', () => {
  it('keeps every Join/Open button on a phone screen next to a room with a very long name and topic', async () => {
    // No spaces in the name: nothing for the browser to break it at.
    const longName = 'Supercalifragilisticexpialidocious_Antidisestablishmentarianism'
      .padEnd(LIMITS.roomNameMax, 'x')
      .slice(0, LIMITS.roomNameMax)
    const longTopic = 'A very long topic that goes on and on about what this room is for, including onboarding, deploys, incident reviews and on-call handovers. '
      .repeat(3)
      .slice(0, LIMITS.roomTopicMax)
      .trim()
    const alice = await e2e.signUp('Alice Martin')
    await createRoom(alice.page, 'general')
    await createRoom(alice.page, longName, { topic: longTopic })
    await createRoom(alice.page, 'team-standup', { topic: 'Daily standup notes and blockers' })

    const bob = await e2e.signUp('Bob Chen', PHONE)
    const page = bob.page
    await page.goto('/browse')
    const card = (name: string) => page.getByTestId('browse-room').filter({ hasText: name })
    // Bob joins one room, so the list has an Open button as well as Join buttons.
    await card('general').getByTestId('join-room').click()
    await page.waitForURL(/\/rooms\/[^/]+$/)
    await page.goto('/browse')
    await card('general').getByRole('button', { name: 'Open' }).waitFor()
    await card(longName).waitFor()
    await expect.poll(() => page.getByTestId('join-room').count()).toBe(2)

    const width = page.viewportSize()!.width
    const buttons = await page.getByTestId('browse-room').getByRole('button').all()
    expect(buttons).toHaveLength(3)
    for (const button of buttons) {
      const box = (await button.boundingBox())!
      expect(box.x, await button.innerText()).toBeGreaterThanOrEqual(0)
      expect(box.x + box.width, await button.innerText()).toBeLessThanOrEqual(width)
    }
    // Nothing scrolls sideways: not the page, not the list.
    expect(await page.evaluate(() => document.scrollingElement!.scrollWidth)).toBeLessThanOrEqual(
      await page.evaluate(() => innerWidth),
    )
    const list = page.getByTestId('browse-results')
    expect(await list.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0)
    // The topic is cut short on the card, but its full text is still there to read.
    await expect.poll(() => card(longName).getByTestId('browse-topic').getAttribute('title')).toBe(longTopic)
  })

  it('on a wide screen the directory is a column in the middle: heading, search and cards the same width, not stretched across', async () => {
    const alice = await e2e.signUp('Alice Martin', { viewport: { width: 1920, height: 1080 } })
    const page = alice.page
    await createRoom(page, 'wide-lounge', { topic: 'Seen on a big monitor' })
    await page.goto('/browse')
    const card = page.getByTestId('browse-room').filter({ hasText: 'wide-lounge' })
    await card.waitFor()
    const box = async (l: Locator) => (await l.boundingBox())!
    const main = await box(page.getByTestId('browse-results'))
    const heading = await box(page.getByRole('heading', { name: 'Browse rooms' }))
    const search = await box(page.getByTestId('browse-search'))
    const create = await box(page.getByRole('button', { name: 'Create room' }))
    const cardBox = await box(card)
    // The card spans the column; the search row (field to the Create button) spans the same.
    expect(cardBox.width).toBeGreaterThan(900)
    expect(cardBox.width).toBeLessThanOrEqual(960)
    expect(
      Math.abs(cardBox.x - main.x - (main.x + main.width - cardBox.x - cardBox.width)),
    ).toBeLessThan(24)
    expect(Math.abs(search.x - cardBox.x)).toBeLessThan(40) // the field starts after the search icon
    expect(Math.abs(create.x + create.width - (cardBox.x + cardBox.width))).toBeLessThan(2)
    expect(Math.abs(heading.x - cardBox.x)).toBeLessThan(2)
  })

  it('a newcomer added to a room while the directory is open finds it there to Open, without a reload', async () => {
    const alice = await e2e.signUp('Alice Martin')
    // A new user lands on the directory, in no room yet.
    const bob = await e2e.signUp('Bob Chen', PHONE)
    const page = bob.page
    expect(new URL(page.url()).pathname).toBe('/browse')
    await page.getByTestId('browse-search').waitFor()
    await createRoom(alice.page, 'first-room-for-bob')
    await invite(alice.page, bob.username)
    const card = page.getByTestId('browse-room').filter({ hasText: 'first-room-for-bob' })
    await expect.poll(() => card.getByRole('button').innerText().catch(() => '')).toBe('Open')
    expect(await card.getByText(/members?$/).innerText()).toBe('2 members')
  })

  it('a room you are removed from while the directory is open offers Join again, with its new member count, without a reload', async () => {
    const alice = await e2e.signUp('Alice Martin')
    const roomId = await createRoom(alice.page, 'kick-and-rejoin')
    const bob = await e2e.signUp('Bob Chen')
    await invite(alice.page, bob.username)
    const page = bob.page
    await page.goto('/browse')
    const card = page.getByTestId('browse-room').filter({ hasText: 'kick-and-rejoin' })
    await expect.poll(() => card.getByRole('button').innerText()).toBe('Open')
    expect(await card.getByText(/members?$/).innerText()).toBe('2 members')

    await removeFromRoom(alice.page, roomId, page)
    await expect.poll(() => card.getByRole('button').innerText()).toBe('Join')
    await expect.poll(() => card.getByText(/members?$/).innerText()).toBe('1 member')
    await card.getByTestId('join-room').click()
    await page.waitForURL(`**/rooms/${roomId}`)
  })
})

describe('a directory left open', () => {
  it('shows a public room made since when the page comes back into view, and keeps pages added with "Show more"', async () => {
    const alice = await e2e.signUp('Alice Martin')
    const bob = await e2e.signUp('Bob Chen', PHONE)
    const page = bob.page
    await page.goto('/browse')
    await page.getByTestId('browse-search').waitFor()
    // What a browser says as a tab is shown again.
    const comesBack = () =>
      page.evaluate(() => document.dispatchEvent(new Event('visibilitychange', { bubbles: true })))
    const card = (name: string) => page.getByTestId('browse-room').filter({ hasText: name })

    await mutate(alice.page, 'rooms.create', { name: 'made-while-away', visibility: 'public' })
    await comesBack()
    await card('made-while-away').waitFor()

    // Narrowed to one name with more than a page of rooms, and a second page shown.
    const rooms = Array.from({ length: 21 }, (_, i) => `away-${String(i).padStart(2, '0')}`)
    for (const name of rooms) {
      await mutate(alice.page, 'rooms.create', { name, visibility: 'public' })
    }
    await page.getByTestId('browse-search').fill('away-')
    await expect.poll(() => page.getByTestId('browse-room').count()).toBe(20)
    await page.getByRole('button', { name: 'Show more' }).click()
    await expect.poll(() => page.getByTestId('browse-room').count()).toBe(21)
    await mutate(alice.page, 'rooms.create', { name: 'away-new', visibility: 'public' })
    await comesBack()
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(await page.getByTestId('browse-room').count()).toBe(21)
  })
})
