/**
 * A tab left open across a deploy: its page chunks are gone from the server.
 * Without a service worker holding them (a first visit, or a browser without
 * one), a click on a link used to do nothing at all.
 */
import type { BrowserContext, Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { useE2E } from './harness.ts'

const e2e = useE2E()
const BROWSE_CHUNK = /\/assets\/BrowsePage-[^/]+\.js$/

/**
 * The directory's chunk answers 404 while `gone()` holds, as from a server
 * that has moved on to a new build (a page loaded afresh would ask for the new
 * build's chunk; here the name stays, so `gone` says when the old one is asked for).
 */
async function dropBrowseChunk(context: BrowserContext, gone: () => boolean): Promise<() => number> {
  let dropped = 0
  await context.route(BROWSE_CHUNK, (route) => {
    if (!gone()) return route.continue()
    dropped++
    // What the server answers for a file it does not have.
    return route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ error: 'Not found' }) })
  })
  return () => dropped
}

/** Counts the page's document loads from now on (a reload is one; a route change is none). */
function documentLoads(page: Page): () => number {
  let loads = 0
  page.on('load', () => loads++)
  return () => loads
}

/** Signed up, on a page loaded afresh at home: a new user lands on the directory, whose chunk this page has yet to ask for. */
async function atHome(displayName: string) {
  const { context, page } = await e2e.signUp(displayName, { serviceWorkers: 'block' })
  await page.goto('/')
  await page.getByRole('heading', { name: 'Pick a conversation' }).waitFor()
  return { context, page }
}

const toastText = (page: Page) => page.locator('.toast').allInnerTexts()

describe('a tab whose build the server has replaced', () => {
  it('opens the page asked for by loading it afresh', async () => {
    const { context, page } = await atHome('Alice Martin')
    const loads = documentLoads(page)
    // Gone until the page asks the server for a document again (its new build's chunks would then be asked for).
    let reloading = false
    page.on('request', (request) => void (request.isNavigationRequest() && (reloading = true)))
    const dropped = await dropBrowseChunk(context, () => !reloading)
    await page.getByTestId('browse-link').click()
    await page.getByRole('heading', { name: 'Browse rooms' }).waitFor()
    expect(new URL(page.url()).pathname).toBe('/browse')
    expect(dropped()).toBeGreaterThan(0)
    await expect.poll(loads).toBe(1)
  })

  it('offline, says the page needs the connection instead of reloading into an error', async () => {
    const { context, page } = await atHome('Bob Chen')
    // Routed (and so not from the HTTP cache, which has it from the sign-up's landing on the directory): offline, it fails.
    await dropBrowseChunk(context, () => false)
    const loads = documentLoads(page)
    await context.setOffline(true)
    await page.getByTestId('browse-link').click()
    await expect.poll(() => toastText(page)).toEqual(['That page opens once you are back online.'])
    expect(new URL(page.url()).pathname).toBe('/')
    expect(loads()).toBe(0)
  })

  it('reloads once, not in a loop, when the new build lacks the chunk too', async () => {
    const { context, page } = await atHome('Cara Diaz')
    const loads = documentLoads(page)
    const dropped = await dropBrowseChunk(context, () => true)
    await page.getByTestId('browse-link').click()
    await expect.poll(() => toastText(page)).toEqual(['Parley could not load that page. Reload to try again.'])
    // The page loaded afresh once; on it, the chunk failed again and it said so instead of reloading.
    await expect.poll(loads).toBe(1)
    expect(dropped()).toBeGreaterThanOrEqual(2)
    expect(new URL(page.url()).pathname).toBe('/browse')
  })

  it('says it could not load the page, without reloading, where the browser refuses to keep the mark', async () => {
    const { context, page } = await atHome('Dan Evans')
    // Storage refused (full, or a locked-down profile): a reload could not
    // tell it had already tried, and would go on reloading.
    await context.addInitScript(() => {
      const setItem = Storage.prototype.setItem
      Storage.prototype.setItem = function (key: string, value: string) {
        if (key.startsWith('parley:stale-build')) throw new DOMException('refused', 'QuotaExceededError')
        setItem.call(this, key, value)
      }
    })
    await page.reload()
    await page.getByRole('heading', { name: 'Pick a conversation' }).waitFor()
    const loads = documentLoads(page)
    const dropped = await dropBrowseChunk(context, () => true)
    await page.getByTestId('browse-link').click()
    await expect.poll(() => toastText(page)).toEqual(['Parley could not load that page. Reload to try again.'])
    expect(dropped()).toBeGreaterThan(0)
    expect(loads()).toBe(0)
    expect(new URL(page.url()).pathname).toBe('/')
  })
})
