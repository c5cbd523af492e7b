/**
 * End-to-end harness: the PRODUCTION build (`apps/server/dist/main.js`
 * serving `apps/web/dist`) as a child process on a free port, and Debian's
 * headless Chromium through playwright-core. One server + one browser per
 * test file; every user gets their own browser context (cookies, IndexedDB,
 * service worker). `stop()` tears everything down and never throws.
 *
 * The app is opened at `http://localhost:<port>` (not 127.0.0.1): localhost is
 * a secure context, so the service worker registers.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  CHROMIUM_ARGS,
  chromiumPath,
  launchChromium,
  trpcInPage,
  waitForServiceWorker,
} from '@parley/testing/chromium'
import { onFreePorts, portTaken } from '@parley/testing/ports'
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Locator,
  type Page,
} from 'playwright-core'
import { afterAll, beforeAll, expect } from 'vitest'
import { startLink, type Link } from './link.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const serverEntry = path.join(root, 'apps/server/dist/main.js')
const webBuild = ['index.html', 'sw.js', 'manifest.webmanifest'].map((f) =>
  path.join(root, 'apps/web/dist', f),
)
export const screenshotsDir = path.join(root, 'apps/web/public/screenshots')

/** How long to wait for something a user should see. */
export const UI_TIMEOUT = 15_000
export const PASSWORD = 'correct horse battery'

export const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 } }
export const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
}

export interface User {
  username: string
  displayName: string
  context: BrowserContext
  page: Page
}

export interface E2E {
  /** http://localhost:PORT */
  base: string
  browser: Browser
  /** A new browser context and page (not signed in). */
  newPage(options?: BrowserContextOptions): Promise<{ context: BrowserContext; page: Page }>
  /**
   * A page in a profile on disk instead of an incognito context: Chromium
   * reports `in-incognito` as an install blocker for the latter.
   */
  newPersistentPage(
    options?: BrowserContextOptions,
  ): Promise<{ context: BrowserContext; page: Page }>
  /** The same server through a network a test can take into a tunnel (`link.ts`): pages loaded from `link.base`. */
  link: Link
  /** A new context whose user signs up through the UI. */
  signUp(displayName: string, options?: BrowserContextOptions): Promise<User>
  /** Server output and page errors so far (for failure messages). */
  output(): string
  stop(): Promise<void>
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

async function stopProcess(child: ChildProcess): Promise<void> {
  if (exited(child)) return
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const force = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await done
  clearTimeout(force)
}

let users = 0

/**
 * The server and browser for one test file: started before its tests
 * (before the file's own beforeAll hooks, when called first) and stopped
 * after them. Use it from the tests' bodies and hooks, not at import time.
 */
export function useE2E(): E2E {
  let started: E2E | undefined
  beforeAll(async () => {
    started = await startE2E()
  })
  afterAll(async () => {
    await started?.stop()
  })
  const e2e = (): E2E => {
    if (!started) throw new Error('the browser tests have not started yet')
    return started
  }
  return {
    get base() {
      return e2e().base
    },
    get browser() {
      return e2e().browser
    },
    get link() {
      return e2e().link
    },
    newPage: (options) => e2e().newPage(options),
    newPersistentPage: (options) => e2e().newPersistentPage(options),
    signUp: (displayName, options) => e2e().signUp(displayName, options),
    output: () => e2e().output(),
    stop: () => e2e().stop(),
  }
}

async function startE2E(): Promise<E2E> {
  const missing = [serverEntry, ...webBuild].filter((f) => !existsSync(f))
  if (missing.length) {
    throw new Error(
      `The browser tests run against the production build, but ${missing
        .map((f) => path.relative(root, f))
        .join(
          ', ',
        )} ${missing.length > 1 ? 'are' : 'is'} missing: run \`pnpm build\` at the repository root first.`,
    )
  }

  let log = ''
  const cleanups: Array<() => Promise<unknown>> = []
  const stop = async () => {
    // Newest first; one failing step must not leave the server or Chromium running.
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {})
  }

  /** The production server on `port`, its output in the log. */
  const startServer = (port: number, link: Link): ChildProcess => {
    const base = `http://localhost:${port}`
    const server = spawn(process.execPath, [serverEntry], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PUBLIC_ORIGIN: `${base},${link.base}`,
        ARGON2_MEMORY_KIB: '1024',
        ARGON2_TIME_COST: '1',
        SEND_RATE_LIMIT: '10000',
        LOGIN_RATE_LIMIT_USER: '1000',
        LOGIN_RATE_LIMIT_IP: '1000',
        // Every browser test signs up from 127.0.0.1.
        REGISTER_RATE_LIMIT_IP: '1000',
        ROOM_ACTION_RATE_LIMIT: '1000',
        // The least the server allows: a long absence past it takes hundreds of messages, not thousands.
        UNREAD_COUNT_LIMIT: '100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    server.stdout!.on('data', (d: Buffer) => (log += d.toString()))
    server.stderr!.on('data', (d: Buffer) => (log += d.toString()))
    return server
  }

  const serverReady = async (server: ChildProcess, port: number): Promise<void> => {
    const deadline = Date.now() + 60_000
    for (;;) {
      if (exited(server)) throw new Error(`The server exited during start-up:\n${log}`)
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`, {
        signal: AbortSignal.timeout(2_000),
      }).then(
        (r) => r.ok,
        () => false,
      )
      if (ready) break
      if (Date.now() > deadline) throw new Error(`The server was not ready within 60 s:\n${log}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  try {
    // The server and its link start again on other ports if one was taken before it was bound.
    const { port, link, server } = await onFreePorts(
      2,
      async ([port, linkPort]) => {
        log = ''
        const link = await startLink(port!, linkPort!)
        const server = startServer(port!, link)
        try {
          await serverReady(server, port!)
          return { port: port!, link, server }
        } catch (err) {
          await stopProcess(server)
          await link.close()
          throw err
        }
      },
      { taken: portTaken },
    )
    const base = `http://localhost:${port}`
    cleanups.push(() => link.close())
    cleanups.push(() => stopProcess(server))

    const browser = await launchChromium()
    cleanups.push(() => browser.close())

    const prepare = (context: BrowserContext, page: Page) => {
      context.setDefaultTimeout(UI_TIMEOUT)
      context.setDefaultNavigationTimeout(30_000)
      page.on('pageerror', (e) => (log += `[pageerror] ${e.message}\n`))
      return { context, page }
    }

    const newPage = async (options: BrowserContextOptions = {}) => {
      const context = await browser.newContext({ ...DESKTOP, baseURL: base, ...options })
      cleanups.push(() => context.close())
      return prepare(context, await context.newPage())
    }

    const newPersistentPage = async (options: BrowserContextOptions = {}) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'parley-e2e-'))
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
      const context = await chromium.launchPersistentContext(dir, {
        executablePath: chromiumPath,
        args: CHROMIUM_ARGS,
        ...DESKTOP,
        baseURL: base,
        ...options,
      })
      cleanups.push(() => context.close())
      return prepare(context, context.pages()[0] ?? (await context.newPage()))
    }

    const signUp = async (displayName: string, options?: BrowserContextOptions) => {
      const { context, page } = await newPage(options)
      const username = `${displayName.split(' ')[0]!.toLowerCase()}${++users}${Date.now().toString(36).slice(-5)}`
      await signUpIn(page, username, displayName)
      return { username, displayName, context, page }
    }

    return { base, browser, link, newPage, newPersistentPage, signUp, output: () => log, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

// ---------------------------------------------------------------------------
// What a user does

/** Signs `username` up through the sign-up form; resolves once the app shows. */
export async function signUpIn(page: Page, username: string, displayName: string): Promise<void> {
  await page.goto('/signup')
  await page.getByTestId('auth-username').fill(username)
  await page.getByTestId('auth-display-name').fill(displayName)
  await page.getByTestId('auth-password').fill(PASSWORD)
  await page.getByTestId('auth-submit').click()
  await page.waitForURL((url) => !/^\/sign(up|in)/.test(url.pathname))
  // Attached, not visible: on a phone the room list is its own screen.
  await page.getByTestId('room-list').waitFor({ state: 'attached' })
}

/** Signs an existing user in through the sign-in form. */
export async function signIn(page: Page, username: string): Promise<void> {
  await page.goto('/signin')
  await page.getByTestId('auth-username').fill(username)
  await page.getByTestId('auth-password').fill(PASSWORD)
  await page.getByTestId('auth-submit').click()
  await page.waitForURL((url) => !/^\/sign(up|in)/.test(url.pathname))
  // Attached, not visible: on a phone the room list is its own screen.
  await page.getByTestId('room-list').waitFor({ state: 'attached' })
}

/**
 * Creates a room through the dialog; resolves to its id once its view is open.
 * From the sidebar's button, or where the sidebar is not on screen (a phone,
 * whose new user lands on the directory) from the directory's.
 */
export async function createRoom(
  page: Page,
  name: string,
  options: { topic?: string; private?: boolean } = {},
): Promise<string> {
  const inSidebar = page.getByTestId('create-room')
  if (await inSidebar.isVisible()) {
    await inSidebar.click()
  } else {
    if (new URL(page.url()).pathname !== '/browse') await page.goto('/browse')
    await page.getByRole('button', { name: 'Create room' }).click()
  }
  await page.getByTestId('room-name-input').fill(name)
  if (options.topic) await page.getByTestId('room-topic-input').fill(options.topic)
  if (options.private) await page.getByTestId('visibility-private').check()
  await page.getByTestId('create-room-submit').click()
  await page.waitForURL(/\/rooms\/[^/]+$/)
  await expect.poll(() => page.getByTestId('room-title').innerText()).toBe(name)
  await page.getByTestId('composer').waitFor()
  return new URL(page.url()).pathname.split('/').pop()!
}

/**
 * Opens a room from the sidebar and waits until its history has loaded (a
 * message, or the empty state). Sending to a room the other side has only
 * half-opened can race the app's first-visit resume point (see the report on
 * issue #7), so tests wait for this like a person would.
 */
export async function openRoom(page: Page, name: string): Promise<void> {
  await roomItem(page, name).click()
  await expect
    .poll(() =>
      page
        .getByTestId('room-title')
        .innerText()
        .catch(() => ''),
    )
    .toBe(name)
  // The room's own empty state, not a sidebar entry's "No messages yet" (hidden on a phone).
  await page
    .getByTestId('message-item')
    .or(page.getByText('No messages yet. Say hello!'))
    .or(page.getByTestId('empty-invite'))
    .first()
    .waitFor()
}

/** Invites `username` to the open room through the invite dialog. */
export async function invite(page: Page, username: string): Promise<void> {
  await page.getByTestId('invite-button').click()
  await page.getByTestId('invite-username').fill(username)
  await page.getByTestId('invite-submit').click()
  await page.getByTestId('invite-username').waitFor({ state: 'detached' })
}

/**
 * Two people who sign up; the first creates the private room `room` and
 * invites the second (whose page does not open it).
 */
export async function twoInPrivateRoom(
  e2e: E2E,
  room: string,
  [first, second]: [string, string],
): Promise<{ alice: User; bob: User; roomId: string }> {
  const alice = await e2e.signUp(first)
  const bob = await e2e.signUp(second)
  const roomId = await createRoom(alice.page, room, { private: true })
  await invite(alice.page, bob.username)
  return { alice, bob, roomId }
}

/** What the typing line under the room says ('' when nobody is typing). */
export function typingText(page: Page): Promise<string> {
  return page
    .getByTestId('typing-indicator')
    .innerText()
    .catch(() => '')
}

/** Types a message in the composer and sends it with Enter. */
export async function say(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer')
  await composer.fill(text)
  await composer.press('Enter')
  await expect.poll(() => composer.inputValue()).toBe('')
}

/** The message whose body contains `text`. */
export function message(page: Page, text: string | RegExp): Locator {
  return page
    .getByTestId('message-item')
    .filter({ has: page.getByTestId('message-body').filter({ hasText: text }) })
}

/** The sidebar entry of the room called `name`. */
export function roomItem(page: Page, name: string): Locator {
  return page
    .getByTestId('room-list-item')
    .filter({ has: page.getByTestId('room-name').getByText(name, { exact: true }) })
}

/**
 * What `shown` says now, null while it is not there: a poll for something
 * rightly gone (a badge, a topic) would otherwise wait out the whole timeout.
 */
export async function textNow(shown: Locator): Promise<string | null> {
  return (await shown.count()) ? shown.innerText({ timeout: 1_000 }).catch(() => null) : null
}

/** What the unread badge of the room called `name` says in the sidebar ('' while there is none). */
export async function unreadBadge(page: Page, name: string): Promise<string> {
  return (await textNow(roomItem(page, name).getByTestId('unread-badge'))) ?? ''
}

/** Bodies of the messages on screen, top to bottom. */
export function bodies(page: Page): Promise<string[]> {
  return page.getByTestId('message-body').allInnerTexts()
}

/** A tRPC query over HTTP with the page's session cookie: what the server has. */
export function query<T>(page: Page, path: string, input?: unknown): Promise<T> {
  return trpcInPage<T>(page, 'query', path, input)
}

/** A tRPC mutation over HTTP with the page's session cookie: another person acting, without their UI. */
export function mutate<T = unknown>(page: Page, path: string, input: unknown): Promise<T> {
  return trpcInPage<T>(page, 'mutation', path, input)
}

/** The server's unread count of `roomId` for the user signed in on `page`. */
export function unreadOnServer(page: Page, roomId: string): Promise<number | undefined> {
  return query<{ id: string; unread: number }[]>(page, 'rooms.list').then(
    (rooms) => rooms.find((r) => r.id === roomId)?.unread,
  )
}

/** The user signed in on `page` writes `bodies` to the room from another device (messages.send, not this UI). */
export async function sendElsewhere(page: Page, roomId: string, bodies: string[]): Promise<void> {
  for (const body of bodies)
    await mutate(page, 'messages.send', { roomId, clientId: crypto.randomUUID(), body })
}

/** What the connection banner says: 'online', 'offline', … (null while it is not shown, at once: poll for one to show). */
export async function bannerState(page: Page): Promise<string | null> {
  const banner = page.getByTestId('connection-banner')
  // getAttribute alone waits (up to the test's action timeout) for a banner to show.
  if ((await banner.count()) === 0) return null
  return banner.getAttribute('data-state', { timeout: 1_000 }).catch(() => null)
}

/** How many messages on the page wait for the server's answer (written offline, or on their way). */
export function pendingCount(page: Page): Promise<number> {
  return page.locator('[data-pending="true"]').count()
}

/**
 * Holds one of the app's IndexedDB stores ('outbox', 'rooms', …) in a
 * transaction of its own until the page goes, as a slow or busy device
 * would: the app's writes to it wait (and its sends, which read their item
 * from the outbox first). Run in the page: `page.evaluate(holdStore, 'outbox')`.
 */
export async function holdStore(name: string): Promise<void> {
  const dbName = (await indexedDB.databases()).find((d) => d.name?.startsWith('parley-'))?.name
  if (!dbName) throw new Error('no Parley database on this page')
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const open = indexedDB.open(dbName)
    open.onsuccess = () => resolve(open.result)
    open.onerror = () => reject(open.error)
  })
  const store = db.transaction(name, 'readwrite').objectStore(name)
  // A transaction with a request outstanding stays open.
  const spin = () => void (store.count().onsuccess = spin)
  spin()
}

/** The tRPC messages in a WebSocket frame (one or a batch; none in a keep-alive PING/PONG). */
export const wsFrames = (text: string): { id?: unknown; params?: { path?: string } }[] =>
  text.startsWith('{') || text.startsWith('[') ? [JSON.parse(text)].flat() : []

/**
 * A slow network between `page` and the server, for what the page loads from
 * now on: what the server says, over HTTP and the tRPC socket, waits until
 * `until()` settles (called for each answer held), in order: every answer, or
 * only those to calls of `paths`. Returns the paths whose answers have since
 * reached the page.
 */
export async function holdAnswers(
  page: Page,
  until: () => Promise<unknown>,
  paths?: string[],
): Promise<Set<string>> {
  const answered = new Set<string>()
  const held = (called: string[]) => !paths || called.some((path) => paths.includes(path))
  await page.route(/\/trpc\//, async (route) => {
    // A batch names its calls in its path: /trpc/rooms.list,auth.me
    const called = new URL(route.request().url()).pathname.slice('/trpc/'.length).split(',')
    if (held(called)) await until()
    await route.continue()
    for (const path of called) answered.add(path)
  })
  await page.routeWebSocket(/\/trpc$/, (toPage) => {
    const toServer = toPage.connectToServer()
    const pathOf = new Map<unknown, string>()
    toPage.onMessage((frame) => {
      for (const call of wsFrames(frame.toString()))
        if (call.params?.path) pathOf.set(call.id, call.params.path)
      toServer.send(frame)
    })
    toServer.onMessage(async (frame) => {
      const called = wsFrames(frame.toString()).flatMap((res) => pathOf.get(res.id) ?? [])
      if (held(called)) await until()
      toPage.send(frame)
      for (const path of called) answered.add(path)
    })
  })
  return answered
}

/** The moderator on `by` removes the user signed in on `who` from the room (rooms.kick), as if from another device. */
export async function removeFromRoom(by: Page, roomId: string, who: Page): Promise<void> {
  const me = await query<{ user: { id: string } }>(who, 'auth.me')
  await mutate(by, 'rooms.kick', { roomId, userId: me.user.id })
}

/** A room's message bodies as the server stores them (`messages.list`), oldest first. */
export async function storedBodies(page: Page, roomId: string): Promise<string[]> {
  const { messages } = await query<{ messages: { body: string; deleted?: boolean }[] }>(
    page,
    'messages.list',
    { roomId },
  )
  return messages.filter((m) => !m.deleted).map((m) => m.body)
}

// ---------------------------------------------------------------------------
// Offline prerequisites (wait for conditions, never for time)

/** Makes the service worker control the page (a reload when the load that installed it is not controlled). */
export { waitForServiceWorker }

/**
 * Once the service worker is in, "Works offline" covers the top of the page
 * for a few seconds: dismissed, as a user would, and gone either way. (A
 * click the notice intercepts makes Playwright scroll the message list, which
 * loads an older page by itself.) Its OK is pressed in one step in the page:
 * the notice also goes by itself, and a click that waits for it to hold still
 * can outlive it (seen in CI).
 */
export async function dismissOfflineReady(page: Page): Promise<void> {
  await waitForServiceWorker(page)
  await page.evaluate(() =>
    document.querySelector<HTMLButtonElement>('[data-testid="offline-ready"] button')?.click(),
  )
  await page.getByTestId('offline-ready').waitFor({ state: 'detached' })
}

/**
 * What the app's IndexedDB cache holds for a room: whether it is in the room
 * list (and its last message there), how many messages are saved, and
 * whether they run from the room's start (an empty room saved as such).
 */
export function savedRoom(
  page: Page,
  roomId: string,
): Promise<{ room: boolean; messages: number; lastBody: string | null; fromStart: boolean }> {
  return page.evaluate(async (roomId) => {
    const none = { room: false, messages: 0, lastBody: null as string | null, fromStart: false }
    const raw = localStorage.getItem('parley:user')
    if (!raw) return none
    const name = `parley-${(JSON.parse(raw) as { id: string }).id}`
    if (!(await indexedDB.databases()).some((d) => d.name === name)) return none
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name)
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    try {
      if (!db.objectStoreNames.contains('messages')) return none
      const tx = db.transaction(['rooms', 'messages', 'roomState'])
      const get = <T>(req: IDBRequest<T>) =>
        new Promise<T>((resolve, reject) => {
          req.onsuccess = () => resolve(req.result)
          req.onerror = () => reject(req.error)
        })
      const [room, messages, state] = await Promise.all([
        get(
          tx.objectStore('rooms').get(roomId) as IDBRequest<
            { lastMessage?: { body: string } | null } | undefined
          >,
        ),
        get(
          tx
            .objectStore('messages')
            .count(IDBKeyRange.bound([roomId, -Infinity], [roomId, Infinity])),
        ),
        get(
          tx.objectStore('roomState').get(roomId) as IDBRequest<
            { fromStart?: boolean } | undefined
          >,
        ),
      ])
      return {
        room: !!room,
        messages,
        lastBody: room?.lastMessage?.body ?? null,
        fromStart: state?.fromStart ?? false,
      }
    } finally {
      db.close()
    }
  }, roomId)
}

/**
 * Waits until the app's IndexedDB cache holds the room list (with `lastBody`
 * as the room's last message, when given) and at least
 * `count` messages of `roomId` (what an offline start reads). Read-only: it
 * never creates the database.
 */
export async function waitForSavedRoom(
  page: Page,
  roomId: string,
  count: number,
  lastBody?: string,
): Promise<void> {
  // Polled from Node: an async predicate in page.waitForFunction was seen to pass too early.
  const saved = () => savedRoom(page, roomId)
  // On a timeout the failure shows what was saved.
  await expect
    .poll(saved, { timeout: UI_TIMEOUT, interval: 100 })
    .toSatisfy(
      (s) => s.room && s.messages >= count && (lastBody === undefined || s.lastBody === lastBody),
    )
}
