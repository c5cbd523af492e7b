/* global self */
// Imported by the service worker (vite.config.ts, workbox.importScripts).
// API calls bypass the worker (the service worker static routing API,
// Chromium 123+): it adds nothing to them (offline data comes from
// IndexedDB, never from its caches), and a `keepalive` request that went
// through it as the page went away, the read marker sent as a room is
// reloaded or left, was lost in about half of the reloads.
self.addEventListener('install', (event) => {
  try {
    event
      .addRoutes?.({ condition: { urlPattern: { pathname: '/trpc/*' } }, source: 'network' })
      ?.catch(() => {})
  } catch {
    // A browser that knows the API but not this rule: the worker passes the calls on, as before.
  }
})
