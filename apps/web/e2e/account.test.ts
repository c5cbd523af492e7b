/**
 * The account dialog (the user's name at the top of the room list): the name
 * others see, a new password, which signs the user's other devices out and keeps this one, and
 * signing out on every device. Both need the server: offline they say so and
 * do nothing.
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import {
  createRoom,
  invite,
  message,
  mutate,
  openRoom,
  PASSWORD,
  PHONE,
  query,
  roomItem,
  say,
  sendElsewhere,
  signIn,
  useE2E,
} from './harness.ts'

const e2e = useE2E()
const ANDROID =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36'

/** Alice on a desktop with a room, and signed in on a phone too. */
async function onTwoDevices() {
  const alice = await e2e.signUp('Alice Martin')
  await createRoom(alice.page, 'lost-phone')
  const phone = await e2e.newPage({ ...PHONE, userAgent: ANDROID })
  await signIn(phone.page, alice.username)
  await roomItem(phone.page, 'lost-phone').waitFor()
  await alice.page.getByTestId('account-button').click()
  const dialog = alice.page.getByRole('dialog', { name: 'Your account' })
  expect(await dialog.innerText()).toContain(`@${alice.username}`)
  return { alice, phone: phone.page, dialog }
}

const signInForm = (page: Page) => page.getByTestId('auth-username').waitFor()
const fieldNote = (page: Page, testid: string) =>
  page.getByTestId(testid).evaluate((input) => {
    const id = input.getAttribute('aria-describedby')
    return id ? document.getElementById(id)?.textContent?.trim() : undefined
  })

describe('the account dialog', () => {
  it('changes the password: a wrong current one or a short new one is named under its field and changes nothing; done, the other device is signed out and this one stays', async () => {
    const { alice, phone, dialog } = await onTwoDevices()
    const page = alice.page
    const current = dialog.getByTestId('current-password')
    const next = dialog.getByTestId('new-password')
    const submit = dialog.getByTestId('change-password-submit')

    await current.fill('not my password')
    await next.fill('a brand new password')
    await submit.click()
    await expect
      .poll(() => fieldNote(page, 'current-password'))
      .toBe('Your current password is not right')
    expect(await current.getAttribute('aria-invalid')).toBe('true')
    await expect.poll(() => current.evaluate((el) => el === document.activeElement)).toBe(true)

    await current.fill(PASSWORD)
    await next.fill('short')
    await submit.click()
    expect(await fieldNote(page, 'new-password')).toBe('Use at least 8 characters')
    // Neither try changed anything: the phone is still signed in.
    expect(await query(phone, 'auth.me')).not.toBeNull()

    await next.fill('a brand new password')
    await submit.click()
    await dialog.waitFor({ state: 'detached' })
    await page.getByText('Password changed. Your other devices are signed out.').waitFor()
    // The phone is signed out at once, without a reload; this page stays, also after one.
    await signInForm(phone)
    await page.reload()
    await roomItem(page, 'lost-phone').waitFor()

    // The old password no longer signs in; the new one does.
    await phone.getByTestId('auth-username').fill(alice.username)
    await phone.getByTestId('auth-password').fill(PASSWORD)
    await phone.getByTestId('auth-submit').click()
    await phone.getByTestId('auth-error').waitFor()
    expect(await phone.getByTestId('auth-error').innerText()).toBe('Invalid username or password')
    await phone.getByTestId('auth-password').fill('a brand new password')
    await phone.getByTestId('auth-submit').click()
    await roomItem(phone, 'lost-phone').waitFor()
  })

  it('changes the name others see: this page and the other device show it at once, the next message carries it, and those already sent keep the old one', async () => {
    const { alice, phone, dialog } = await onTwoDevices()
    const page = alice.page
    const bob = await e2e.signUp('Bob Chen')
    await page.keyboard.press('Escape')
    await openRoom(page, 'lost-phone')
    await invite(page, bob.username)
    await say(page, 'sent before')
    await openRoom(bob.page, 'lost-phone')
    await message(bob.page, 'sent before').waitFor()
    expect(await bob.page.getByTestId('member-list').innerText()).toContain('Alice Martin')
    // …and a direct conversation with her, named after her.
    const dm = await mutate<{ id: string }>(bob.page, 'rooms.direct', { username: alice.username })
    await sendElsewhere(bob.page, dm.id, ['about the phone'])
    await roomItem(bob.page, 'Alice Martin').waitFor()

    await phone.getByTestId('account-button').click()
    const phoneDialog = phone.getByRole('dialog', { name: 'Your account' })
    await phoneDialog.getByTestId('display-name').waitFor()
    await page.getByTestId('account-button').click()
    const field = dialog.getByTestId('display-name')
    const save = dialog.getByTestId('display-name-save')
    expect(await field.inputValue()).toBe('Alice Martin')
    expect(await save.isDisabled()).toBe(true) // nothing to save yet
    await field.fill('   ')
    expect(await save.isDisabled()).toBe(true)
    await field.fill('  Alice Cooper ')
    await save.click()
    await expect.poll(() => dialog.getByTestId('account-name').innerText()).toBe('Alice Cooper')
    await page.getByRole('status').filter({ hasText: 'Your name is now Alice Cooper' }).waitFor()
    expect(await save.isDisabled()).toBe(true)
    // The phone, signed in before, hears it without a reload; its account dialog, open all along, too.
    await expect
      .poll(() => phone.getByTestId('account-button').innerText())
      .toContain('Alice Cooper')
    await expect
      .poll(() => phoneDialog.getByTestId('display-name').inputValue())
      .toBe('Alice Cooper')
    expect(await phoneDialog.getByTestId('display-name-save').isDisabled()).toBe(true)

    await page.keyboard.press('Escape')
    await say(page, 'sent after')
    const after = message(bob.page, 'sent after')
    await after.waitFor()
    expect(await after.getByTestId('message-author').innerText()).toBe('Alice Cooper')
    // Both say whose they are on hover: the same username.
    for (const m of [after, message(bob.page, 'sent before')])
      expect(await m.getByTestId('message-author').getAttribute('title')).toBe(`@${alice.username}`)
    expect(await message(bob.page, 'sent before').getByTestId('message-author').innerText()).toBe(
      'Alice Martin',
    )
    // Bob's member list, open all along, names her as she is now.
    await expect
      .poll(() => bob.page.getByTestId('member-list').innerText())
      .toContain('Alice Cooper')
    await roomItem(bob.page, 'Alice Cooper').waitFor()
    // A reload keeps it (the server's answer, and the name remembered for an offline start).
    await page.reload()
    await expect
      .poll(() => page.getByTestId('account-button').innerText())
      .toContain('Alice Cooper')
    expect(await page.evaluate(() => localStorage.getItem('parley:user'))).toContain(
      '"Alice Cooper"',
    )
  })

  it('lists where the user is signed in, this device first, and signs the other one out at once', async () => {
    const { phone, dialog } = await onTwoDevices()
    const items = dialog.getByTestId('session-item')
    await expect.poll(() => items.allInnerTexts()).toHaveLength(2)
    const [here, there] = await items.allInnerTexts()
    expect(here!.replace(/\s+/g, ' ')).toBe('Chrome on Linux This device')
    // Each other device says when it was last used (just now: today) and since when it is signed in.
    expect(there!.replace(/\s+/g, ' ')).toMatch(/^Chrome on Android Active today · signed in \d/)
    expect(await items.first().getByTestId('session-end').count()).toBe(0)

    await items
      .nth(1)
      .getByRole('button', { name: /^Sign out Chrome on Android/ })
      .click()
    await expect.poll(() => items.count()).toBe(1)
    // The phone is signed out at once, without a reload; this page stays.
    await signInForm(phone)
    expect(await query(phone, 'auth.me')).toBeNull()
    expect(await dialog.isVisible()).toBe(true)
  })

  it('signs out on every device: this page and the other device reach the sign-in form at once; offline it says so and does nothing', async () => {
    const { alice, phone, dialog } = await onTwoDevices()
    const page = alice.page
    const submit = dialog.getByTestId('sign-out-everywhere')

    // It needs the server: offline the button is off and the dialog says why.
    await alice.context.setOffline(true)
    try {
      await expect.poll(() => submit.isDisabled()).toBe(true)
      expect(await dialog.getByTestId('change-password-submit').isDisabled()).toBe(true)
      await dialog.getByTestId('display-name').fill('Alice Offline')
      expect(await dialog.getByTestId('display-name-save').isDisabled()).toBe(true)
      expect(await dialog.getByTestId('session-end').isDisabled()).toBe(true)
      expect(await dialog.getByTestId('offline-note').innerText()).toContain(
        'Changing your account needs a connection',
      )
    } finally {
      await alice.context.setOffline(false)
    }
    await expect.poll(() => submit.isDisabled()).toBe(false)
    expect(await query(phone, 'auth.me')).not.toBeNull()

    await submit.click()
    await signInForm(page)
    expect(new URL(page.url()).pathname).toBe('/signin')
    // The other device is signed out too, without a reload; its cookie signs nobody in.
    await signInForm(phone)
    await phone.reload()
    await signInForm(phone)
    expect(await query(phone, 'auth.me')).toBeNull()
    expect(await query(page, 'auth.me')).toBeNull()
  })
})
