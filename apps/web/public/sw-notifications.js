/* global self */
// Imported by the service worker (vite.config.ts, workbox.importScripts).
// A click on a message's notification (lib/notifications.ts) opens its room:
// in a Parley window already open (the app routes there, keeping its state),
// else in a new one.
self.openFromNotification = async (path) => {
  // Only this origin's windows are the worker's to see.
  const [open] = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
  if (!open) return self.clients.openWindow(path)
  open.postMessage({ type: 'parley:open', path })
  // Allowed only from the click itself: from anywhere else the window stays where it is.
  await open.focus().catch(() => {})
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  event.waitUntil(self.openFromNotification(event.notification.data?.path ?? '/'))
})
