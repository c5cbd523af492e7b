/**
 * Offline, beyond writing: edits, deletes and reactions wait in the outbox
 * like messages do (marked, across a reload) and reach the other person once
 * the network returns; dialogs that need the server say so instead of
 * quietly acting after reconnecting.
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  bannerState,
  bodies,
  createRoom,
  message,
  openRoom,
  query,
  roomItem,
  say,
  twoInPrivateRoom,
  useE2E,
  waitForSavedRoom,
  waitForServiceWorker,
} from './harness.ts'

const e2e = useE2E()

/** The emoji of a message's reactions, as shown. */
const reactionsOf = (page: Page, text: string) =>
  message(page, text)
    .getByTestId('reaction')
    .evaluateAll((chips) => chips.map((c) => c.getAttribute('data-emoji')))

describe('offline actions', () => {
  it('an edit, a delete and a reaction made offline show at once, marked waiting, survive a reload, and reach the other person', async () => {
    const { alice, bob, roomId } = await twoInPrivateRoom(e2e, 'design-crit', [
      'Alice Martin',
      'Bob Chen',
    ])
    const a = alice.page
    const b = bob.page
    await openRoom(b, 'design-crit')
    await say(a, 'Draft is up')
    await say(a, 'wrong link, ignore')
    await message(b, 'wrong link').waitFor()
    await say(b, 'Looks good')
    await message(a, 'Looks good').waitFor()
    const before = ['Draft is up', 'wrong link, ignore', 'Looks good']

    await waitForServiceWorker(a)
    await message(a, 'Looks good').waitFor()
    await waitForSavedRoom(a, roomId, before.length, 'Looks good')

    await alice.context.setOffline(true)
    try {
      await expect.poll(() => bannerState(a)).toBe('offline')

      const draft = message(a, 'Draft is up')
      await draft.hover()
      await draft.getByTestId('edit-button').click()
      await a.getByTestId('edit-input').fill('Final draft is up')
      await a.getByTestId('edit-input').press('Enter')

      const wrong = message(a, 'wrong link')
      await wrong.hover()
      await wrong.getByTestId('delete-button').click()
      await a.getByTestId('confirm-accept').click()

      const looks = message(a, 'Looks good')
      await looks.hover()
      await looks.getByTestId('react-button').click()
      await a.getByTestId('reaction-option').filter({ hasText: '🎉' }).click()

      /** Alice sees all three applied, each marked as waiting for the connection. */
      const appliedAndWaiting = async () => {
        const edited = message(a, 'Final draft is up')
        await edited.waitFor()
        expect(await edited.getAttribute('data-pending-change')).toBe('edit')
        const deleted = a.locator('[data-pending-change="delete"]')
        await deleted.getByTestId('message-deleted').waitFor()
        const reacted = message(a, 'Looks good')
        expect(await reacted.getAttribute('data-pending-change')).toBe('react')
        expect(await reactionsOf(a, 'Looks good')).toEqual(['🎉'])
        for (const item of [edited, deleted, reacted]) {
          expect(await item.getByTestId('message-status').innerText()).toMatch(
            /^Waiting for connection — will .+ automatically$/,
          )
        }
        expect(await bodies(a)).toEqual(['Final draft is up', 'Looks good'])
      }
      await appliedAndWaiting()
      // Nothing reached Bob meanwhile.
      expect(await bodies(b)).toEqual(before)

      // A reload, still offline: the changes come back from the outbox in IndexedDB.
      await a.reload()
      await message(a, 'Looks good').waitFor()
      await appliedAndWaiting()
    } finally {
      await alice.context.setOffline(false)
    }

    // Back online: Bob sees all three, live.
    await message(b, 'Final draft is up').waitFor({ timeout: 20_000 })
    await expect
      .poll(() => bodies(b), { timeout: 20_000 })
      .toEqual(['Final draft is up', 'Looks good'])
    expect(await message(b, 'Final draft is up').innerText()).toContain('(edited)')
    await b.getByTestId('message-deleted').waitFor()
    await expect.poll(() => reactionsOf(b, 'Looks good')).toEqual(['🎉'])
    await expect.poll(() => a.locator('[data-pending-change]').count()).toBe(0)

    // Alice's view after a reload matches, and so does the server.
    await a.reload()
    await message(a, 'Looks good').getByTestId('reaction').waitFor()
    expect(await bodies(a)).toEqual(['Final draft is up', 'Looks good'])
    expect(await a.getByTestId('message-deleted').count()).toBe(1)
    expect(await reactionsOf(a, 'Looks good')).toEqual(['🎉'])
    const { messages } = await query<{
      messages: { body: string; deleted: boolean; reactions: { emoji: string }[] }[]
    }>(a, 'messages.list', { roomId })
    expect(messages.map((m) => [m.body, m.deleted, m.reactions.map((r) => r.emoji)])).toEqual([
      ['Final draft is up', false, []],
      ['', true, []],
      ['Looks good', false, ['🎉']],
    ])
  })

  it('creating a room, opening a direct message or editing a room offline says so and does nothing, even after reconnecting', async () => {
    const carol = await e2e.signUp('Carol Diaz')
    const c = carol.page
    await createRoom(c, 'kept-name')
    await carol.context.setOffline(true)
    try {
      await expect.poll(() => bannerState(c)).toBe('offline')
      await c.getByTestId('create-room').click()
      await c.getByTestId('room-name-input').fill('made-offline')
      await c.getByTestId('room-name-input').press('Enter')
      expect(await c.getByTestId('offline-note').innerText()).toMatch(/offline/i)
      expect(await c.getByTestId('create-room-submit').isDisabled()).toBe(true)
      await c.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()

      await c.getByTestId('open-direct').click()
      await c.getByTestId('direct-username').fill('someone')
      await c.getByTestId('direct-username').press('Enter')
      expect(await c.getByTestId('offline-note').innerText()).toMatch(/offline/i)
      expect(await c.getByTestId('direct-submit').isDisabled()).toBe(true)
      await c.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()

      await c.getByTestId('edit-room-button').click()
      await c.getByTestId('room-name-input').fill('renamed-offline')
      await c.getByTestId('room-name-input').press('Enter')
      expect(await c.getByTestId('offline-note').innerText()).toMatch(/offline/i)
      expect(await c.getByTestId('edit-room-submit').isDisabled()).toBe(true)
      await c.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
    } finally {
      await carol.context.setOffline(false)
    }
    await c.getByTestId('connection-banner').waitFor({ state: 'detached' })

    // A room created after reconnecting is a round trip later than anything
    // held back while offline would have gone out.
    await createRoom(c, 'made-online')
    const rooms = await query<{ name: string }[]>(c, 'rooms.list')
    expect(rooms.map((r) => r.name)).toEqual(['made-online', 'kept-name'])
    expect(await roomItem(c, 'made-offline').count()).toBe(0)
    expect(await roomItem(c, 'renamed-offline').count()).toBe(0)
  })
})
