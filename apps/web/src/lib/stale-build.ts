import type { Router } from 'vue-router'
import { readLocal, writeLocal } from '../offline/local-store.ts'
import { toast } from './toast.ts'

/** Chromium's, Firefox's and Safari's words for a page chunk that did not load, and Vite's for its CSS. */
const CHUNK_FAILED = /dynamically imported module|Importing a module script failed|Unable to preload CSS/i
const RELOADED_AT = 'parley:stale-build-reload-at'
/** A page loaded afresh this recently for a missing chunk does not reload again: the newest build lacks it too. */
const RELOAD_GRACE_MS = 30_000

/**
 * A tab left open across a deploy still asks for its own build's page chunks,
 * which the server no longer has (the service worker keeps them only for the
 * tabs it controls), so a click on a link did nothing. Loading the address the
 * user asked for afresh gets the new build.
 */
export function reloadOnStaleBuild(router: Router): void {
  router.onError((err: unknown, to) => {
    if (!(err instanceof Error) || !CHUNK_FAILED.test(err.message)) return
    if (!navigator.onLine) return toast('That page opens once you are back online.', 'error')
    const now = String(Date.now())
    const reloadedAt = Number(readLocal(RELOADED_AT, 'sessionStorage') ?? 0)
    if (Number(now) - reloadedAt >= RELOAD_GRACE_MS) {
      writeLocal(RELOADED_AT, now, 'sessionStorage')
      // Only with the mark kept (storage can be refused): without it the page could reload for ever.
      if (readLocal(RELOADED_AT, 'sessionStorage') === now) return window.location.assign(to.fullPath)
    }
    toast('Parley could not load that page. Reload to try again.', 'error')
  })
}
