/**
 * What a person sees: how soon a message is on the other person's screen.
 * Two people in Debian's Chromium, on node A (the production build serves
 * the PWA, service worker and all). One types a message and presses Enter;
 * the pages themselves time it, from the keypress to the message in the
 * other person's DOM (painted in the frame after) and to the sender's own
 * copy confirmed by the server (no longer "sending"). Once in a room just
 * started, once in a room the reader has followed for a while (its messages
 * arrived live, so the list holds what it keeps on screen). The rest of the
 * bench's users are connected and idle: this is one conversation on a quiet
 * server, the latency a person feels rather than a load figure.
 */
import { randomUUID } from 'node:crypto'
import { launchChromium, trpcInPage, waitForServiceWorker } from '@parley/testing/chromium'
import type { Browser, Page } from 'playwright-core'

export interface Spread {
  p50: number
  p90: number
  max: number
}

export interface BrowserRoomResult {
  room: string
  /** Messages in the reader's DOM while measuring. */
  messagesOnScreen: number
  samples: number
  /** Enter pressed → the message in the other person's DOM. */
  otherScreenMs: Spread
  /** Enter pressed → the sender's own copy confirmed by the server. */
  confirmedMs: Spread
  /** Each page's main thread per timed message (Chromium's own counters): all its tasks, and layout and style within them. */
  mainThreadMs: { writer: MainThread; reader: MainThread }
}

export interface MainThread {
  tasks: number
  layoutAndStyle: number
}

export interface BrowserResult {
  node: string
  chromium: string
  rooms: BrowserRoomResult[]
}

export interface BrowserOptions {
  /** Messages timed per room. */
  samples: number
  /** Messages that arrive live in the followed room before timing starts. */
  backlog: number
  /** Pause between two timed messages (a person does not type 10 a second). */
  gapMs: number
}

const PASSWORD = 'correct horse battery'
const VIEWPORT = { width: 1280, height: 800 }
/** A token per timed message, found in the DOM by the pages' own observers. */
// No \b in front: in an item's textContent the time runs straight into the body ("12:05 PMbench-0-1").
const TOKEN_SOURCE = String.raw`bench-\d+-\d+\b`

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN
  return { p50: at(0.5), p90: at(0.9), max: s.at(-1) ?? NaN }
}

const mutate = <T>(page: Page, path: string, input: unknown) => trpcInPage<T>(page, 'mutation', path, input)

/** A person with the app open and its service worker in control (as after their first visit). */
async function person(browser: Browser, base: string, name: string): Promise<{ page: Page; username: string }> {
  const context = await browser.newContext({ baseURL: base, viewport: VIEWPORT })
  context.setDefaultTimeout(30_000)
  const page = await context.newPage()
  await page.goto('/')
  const username = `bench_${name.toLowerCase()}_${randomUUID().slice(0, 8)}`
  await mutate(page, 'auth.register', { username, password: PASSWORD, displayName: name })
  await waitForServiceWorker(page)
  return { page, username }
}

async function openRoom(page: Page, roomId: string): Promise<void> {
  await page.goto(`/rooms/${roomId}`)
  await page.getByTestId('composer').waitFor()
  await page.getByTestId('message-item').or(page.getByText('No messages yet. Say hello!')).first().waitFor()
}

/**
 * Timestamps in the page (performance.timeOrigin + now: one clock for every
 * page on the machine): Enter pressed on a timed message, its item added to
 * the DOM, and the item no longer pending. Only added and changed nodes are
 * looked at, so watching costs the page next to nothing.
 */
function watch(page: Page): Promise<void> {
  // A string, not a function: tsx's transform would add helpers the page does not have.
  return page.evaluate(`(() => {
    const token = new RegExp(${JSON.stringify(TOKEN_SOURCE)})
    const now = () => performance.timeOrigin + performance.now()
    const seen = { pressed: {}, shown: {}, confirmed: {} }
    window.__benchSeen = seen
    document.addEventListener('keydown', (e) => {
      const m = e.key === 'Enter' && !e.shiftKey ? token.exec(e.target?.value ?? '') : null
      if (m) seen.pressed[m[0]] ??= now()
    }, true)
    const ITEM = '[data-testid="message-item"]'
    const note = (item, at) => {
      const m = token.exec(item.textContent ?? '')
      if (!m) return
      seen.shown[m[0]] ??= at
      if (item.getAttribute('data-pending') === 'false') seen.confirmed[m[0]] ??= at
    }
    // The bench awaits a token without polling the page (polling would itself run a task every frame).
    const waiters = []
    window.__benchWait = (kind, t) => seen[kind][t] !== undefined ? true : new Promise((resolve) => waiters.push({ kind, t, resolve }))
    new MutationObserver((records) => {
      const at = now()
      for (const r of records) {
        if (r.type === 'attributes' && r.target instanceof Element && r.target.matches(ITEM)) note(r.target, at)
        for (const n of r.addedNodes) {
          if (!(n instanceof Element)) continue
          if (n.matches(ITEM)) note(n, at)
          else for (const item of n.querySelectorAll(ITEM)) note(item, at)
        }
      }
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]
        if (seen[w.kind][w.t] === undefined) continue
        waiters.splice(i, 1)
        w.resolve(true)
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-pending'] })
  })()`)
}

type Seen = { pressed: Record<string, number>; shown: Record<string, number>; confirmed: Record<string, number> }
const seenIn = (page: Page) => page.evaluate(() => (window as unknown as { __benchSeen: Seen }).__benchSeen)

/** Resolves when the page's observer has seen `token` (`kind`: shown or confirmed). */
async function waitUntilSeen(page: Page, kind: keyof Seen, token: string): Promise<void> {
  type BenchWindow = { __benchWait: (kind: keyof Seen, t: string) => true | Promise<true> }
  const wait = page.evaluate(([k, t]) => (window as unknown as BenchWindow).__benchWait(k, t), [kind, token] as const)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`browser: ${token} not ${kind} within 15 s`)), 15_000)
  })
  try {
    await Promise.race([wait, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Chromium's cumulative main-thread counters for a page (seconds). */
async function mainThreadOf(page: Page): Promise<() => Promise<MainThread>> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Performance.enable')
  const read = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics')
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]))
    return { tasks: m.TaskDuration ?? NaN, layoutAndStyle: (m.LayoutDuration ?? NaN) + (m.RecalcStyleDuration ?? NaN) }
  }
  const start = await read()
  /** Milliseconds since the start. */
  return async () => {
    const now = await read()
    return { tasks: (now.tasks - start.tasks) * 1000, layoutAndStyle: (now.layoutAndStyle - start.layoutAndStyle) * 1000 }
  }
}

async function timeRoom(writer: Page, reader: Page, roomIndex: number, room: string, opt: BrowserOptions): Promise<BrowserRoomResult> {
  await Promise.all([watch(writer), watch(reader)])
  const [writerThread, readerThread] = await Promise.all([mainThreadOf(writer), mainThreadOf(reader)])
  const composer = writer.getByTestId('composer')
  const tokens: string[] = []
  for (let i = 0; i < opt.samples; i++) {
    const token = `bench-${roomIndex}-${i}`
    tokens.push(token)
    await composer.fill(`${token} how does the new layout look on your phone?`)
    await composer.press('Enter')
    await waitUntilSeen(reader, 'shown', token)
    await waitUntilSeen(writer, 'confirmed', token)
    await sleep(opt.gapMs)
  }
  const perMessage = (t: MainThread) => ({ tasks: t.tasks / tokens.length, layoutAndStyle: t.layoutAndStyle / tokens.length })
  const mainThreadMs = { writer: perMessage(await writerThread()), reader: perMessage(await readerThread()) }
  const [wrote, read] = await Promise.all([seenIn(writer), seenIn(reader)])
  const missing = tokens.filter((t) => wrote.pressed[t] === undefined)
  if (missing.length) throw new Error(`browser: the keypress of ${missing.length} timed messages was not seen (${missing[0]})`)
  return {
    room,
    messagesOnScreen: await reader.getByTestId('message-item').count(),
    samples: tokens.length,
    otherScreenMs: spread(tokens.map((t) => read.shown[t]! - wrote.pressed[t]!)),
    confirmedMs: spread(tokens.map((t) => wrote.confirmed[t]! - wrote.pressed[t]!)),
    mainThreadMs,
  }
}

export async function runBrowser(node: { id: string; port: number }, opt: BrowserOptions, log: (s: string) => void): Promise<BrowserResult> {
  const browser = await launchChromium()
  try {
    // localhost, not 127.0.0.1: a secure context, so the service worker runs as it does for users.
    const base = `http://localhost:${node.port}`
    const [alice, bob] = [await person(browser, base, 'Alice'), await person(browser, base, 'Bob')]
    const rooms: BrowserRoomResult[] = []

    const fresh = await mutate<{ id: string }>(alice.page, 'rooms.create', { name: 'bench-fresh', visibility: 'private' })
    await mutate(alice.page, 'rooms.invite', { roomId: fresh.id, username: bob.username })
    await Promise.all([openRoom(alice.page, fresh.id), openRoom(bob.page, fresh.id)])
    rooms.push(await timeRoom(alice.page, bob.page, 0, 'just started', opt))
    log(`browser: just started: on the other screen p50 ${rooms[0]!.otherScreenMs.p50.toFixed(1)} ms`)

    const followed = await mutate<{ id: string }>(alice.page, 'rooms.create', { name: 'bench-followed', visibility: 'private' })
    await mutate(alice.page, 'rooms.invite', { roomId: followed.id, username: bob.username })
    await Promise.all([openRoom(alice.page, followed.id), openRoom(bob.page, followed.id)])
    // The backlog arrives while Bob reads along, as in a room he has followed all day.
    await alice.page.evaluate(
      async ({ roomId, count }) => {
        for (let i = 0; i < count; i += 10) {
          await Promise.all(
            Array.from({ length: Math.min(10, count - i) }, (_, j) =>
              fetch('/trpc/messages.send', {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ roomId, clientId: crypto.randomUUID(), body: `earlier ${i + j}: a **line** of the conversation so far, with a [link](https://example.com)` }),
              }),
            ),
          )
        }
      },
      { roomId: followed.id, count: opt.backlog },
    )
    await bob.page.getByTestId('message-body').filter({ hasText: `earlier ${opt.backlog - 1}:` }).waitFor()
    await sleep(500)
    rooms.push(await timeRoom(alice.page, bob.page, 1, 'followed for a while', opt))
    log(`browser: followed (${rooms[1]!.messagesOnScreen} messages on screen): on the other screen p50 ${rooms[1]!.otherScreenMs.p50.toFixed(1)} ms`)

    return { node: node.id, chromium: browser.version(), rooms }
  } finally {
    await browser.close()
  }
}
