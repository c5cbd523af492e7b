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

// Each open tab asks to show each message from someone else
// (lib/notifications.ts): the first ask shows it, and later ones for a
// message no newer in its room are dropped, so two tabs do not alert twice.
const newestShown = new Map()
// A room's notifications are shown one after another: two shown at once can
// land in either order (each loads its icon first), and the room's older
// message would stay on screen. One overtaken while it waits is not shown.
const showing = new Map()
self.addEventListener('message', (event) => {
  const { type, roomId, seq, title, options } = event.data ?? {}
  if (type !== 'parley:notify' || (newestShown.get(roomId) ?? 0) >= seq) return
  newestShown.set(roomId, seq)
  const shown = (showing.get(roomId) ?? Promise.resolve())
    .then(
      () => newestShown.get(roomId) === seq && self.registration.showNotification(title, options),
    )
    // Refused (permission withdrawn meanwhile): the room list still has the message.
    .catch(() => {})
  showing.set(roomId, shown)
  event.waitUntil(shown)
})

self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  event.waitUntil(self.openFromNotification(event.notification.data?.path ?? '/'))
})
