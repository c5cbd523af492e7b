/**
 * Sign-up and sign-in say what is wrong where it is wrong: a field's problem
 * in plain words under that field (aria-invalid, aria-describedby, focus on
 * the first one), checked before anything is sent; a taken username under the
 * username; a wrong password as one message for the form. And a session that
 * ends while the app is open sends it back to the sign-in form.
 */
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { mutate, PASSWORD, PHONE, signIn, useE2E, type User } from './harness.ts'

const e2e = useE2E()
let alice: User
beforeAll(async () => {
  alice = await e2e.signUp('Alice Martin')
})

/** What a field tells assistive technology about itself: invalid or not, and its note. */
function described(page: Page, testId: string) {
  return page.getByTestId(testId).evaluate((input) => {
    const ids = input.getAttribute('aria-describedby')?.split(' ') ?? []
    return {
      invalid: input.getAttribute('aria-invalid') === 'true',
      note: ids.map((id) => document.getElementById(id)?.textContent?.trim()).join(' '),
      focused: document.activeElement === input,
    }
  })
}

async function fillAndSubmit(page: Page, username: string, password: string) {
  await page.getByTestId('auth-username').fill(username)
  await page.getByTestId('auth-password').fill(password)
  await page.getByTestId('auth-submit').click()
}

describe('sign-up and sign-in forms', () => {
  it('a too-short password is named under the password field, and nothing is sent', async () => {
    const { page } = await e2e.newPage(PHONE)
    const sent: string[] = []
    page.on('request', (req) => {
      if (req.url().includes('/trpc/')) sent.push(new URL(req.url()).pathname)
    })
    await page.goto('/signup')
    const username = `shorty${Date.now().toString(36)}`
    await fillAndSubmit(page, username, 'abc123')

    await expect.poll(() => described(page, 'auth-password')).toEqual({
      invalid: true,
      note: 'Use at least 8 characters',
      focused: true,
    })
    expect(await described(page, 'auth-username')).toMatchObject({ invalid: false })
    expect(await page.getByTestId('auth-error').count()).toBe(0)

    // Two problems: both shown, focus on the first.
    await fillAndSubmit(page, 'a b', 'abc123')
    await expect.poll(() => described(page, 'auth-username')).toEqual({
      invalid: true,
      note: 'Use 3–32 letters, digits, _ . or -',
      focused: true,
    })
    expect(await described(page, 'auth-password')).toMatchObject({ invalid: true })
    // Typing in a field takes its complaint away.
    await page.getByTestId('auth-username').pressSequentially('x')
    expect(await described(page, 'auth-username')).toMatchObject({ invalid: false })

    expect(sent.filter((p) => p.includes('auth.register'))).toEqual([])
    expect(new URL(page.url()).pathname).toBe('/signup')

    // No account was made: signing in with that name fails.
    await page.goto('/signin')
    await fillAndSubmit(page, username, 'abc123')
    await expect
      .poll(() => page.getByTestId('auth-error').innerText())
      .toBe('Invalid username or password')
  })

  it('a taken username is named under the username field', async () => {
    const { page } = await e2e.newPage()
    await page.goto('/signup')
    await fillAndSubmit(page, alice.username, PASSWORD)
    await expect.poll(() => described(page, 'auth-username')).toEqual({
      invalid: true,
      note: 'That username is taken',
      focused: true,
    })
    expect(await described(page, 'auth-password')).toMatchObject({ invalid: false })
    expect(await page.getByTestId('auth-error').count()).toBe(0)
  })

  it('the password can be shown while it is typed, the keyboard staying in it, and is hidden again once the form is sent', async () => {
    const { page } = await e2e.newPage(PHONE)
    await page.goto('/signin')
    const password = page.getByTestId('auth-password')
    const reveal = page.getByTestId('reveal-password')
    const seen = () =>
      password.evaluate((el: HTMLInputElement) => ({
        type: el.type,
        focused: document.activeElement === el,
      }))
    await page.getByTestId('auth-username').fill(alice.username)
    await password.fill('not the pasword')
    expect(await seen()).toEqual({ type: 'password', focused: true })

    await reveal.tap()
    expect(await seen()).toEqual({ type: 'text', focused: true })
    expect(await reveal.getAttribute('aria-pressed')).toBe('true')
    await reveal.tap()
    expect(await seen()).toEqual({ type: 'password', focused: true })

    await reveal.tap()
    await page.getByTestId('auth-submit').click()
    await page.getByTestId('auth-error').waitFor()
    expect((await seen()).type).toBe('password')
    expect(await reveal.getAttribute('aria-pressed')).toBe('false')
  })

  it('a wrong password at sign-in is one message for the form, and focus goes to it', async () => {
    const { page } = await e2e.newPage()
    await page.goto('/signin')
    await fillAndSubmit(page, alice.username, 'not the password')
    const error = page.getByTestId('auth-error')
    await expect.poll(() => error.innerText()).toBe('Invalid username or password')
    expect(await error.evaluate((el) => el === document.activeElement)).toBe(true)
    expect(await described(page, 'auth-username')).toMatchObject({ invalid: false })
    expect(await described(page, 'auth-password')).toMatchObject({ invalid: false })

    // Empty fields are caught before asking the server.
    await page.goto('/signin')
    await page.getByTestId('auth-submit').click()
    await expect.poll(() => described(page, 'auth-username')).toEqual({
      invalid: true,
      note: 'Enter your username',
      focused: true,
    })
    expect(await described(page, 'auth-password')).toMatchObject({ invalid: true, note: 'Enter your password' })
  })
})

describe('a session that ends while the app is open', () => {
  it('sends the app to the sign-in form even when only the socket says so', async () => {
    const bob = await e2e.signUp('Bob Chen')
    // The stream's `session.revoked` is dropped on its way: only the socket's close (4001) and what
    // follows it tell the page, as when a session lapses, or its close overtakes the stream's frame.
    await bob.page.routeWebSocket(/\/trpc$/, (ws) => {
      const server = ws.connectToServer()
      server.onMessage((frame) => {
        if (!String(frame).includes('"session.revoked"')) ws.send(frame)
      })
    })
    await bob.page.reload()
    await bob.page.getByTestId('room-list').waitFor({ state: 'attached' })
    // Bob signs out everywhere from his phone.
    const { page: phone } = await e2e.newPage(PHONE)
    await signIn(phone, bob.username)
    await mutate(phone, 'auth.logoutAll', undefined)
    await bob.page.waitForURL((url) => url.pathname === '/signin')
    await bob.page.getByTestId('auth-username').waitFor()
  })
})

describe('a session that goes on', () => {
  it('stays signed in when Back leaves the app and Forward returns to it', async () => {
    // Signing up started on /signup, whose load asked auth.me and was told "nobody". A history
    // load may serve a page's requests from the HTTP cache: that old answer must not be one of them.
    const carol = await e2e.signUp('Carol Diaz')
    await carol.page.goBack()
    expect(carol.page.url()).toBe('about:blank')
    const asked = carol.page.waitForResponse((r) => r.url().includes('/trpc/auth.me'))
    await carol.page.goForward()
    expect(await (await asked).json()).toEqual([
      { result: { data: { user: expect.objectContaining({ username: carol.username }) } } },
    ])
    // What Carol sees: the app, not the sign-in form the old answer sent her to.
    await carol.page.getByTestId('create-room').click()
    await carol.page.getByTestId('room-name-input').waitFor()
    expect(new URL(carol.page.url()).pathname).toBe('/browse')
  })
})
