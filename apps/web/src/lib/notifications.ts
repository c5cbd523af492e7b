/**
 * New messages as the system's notifications, while Parley is not in front
 * (another tab, another app, minimised): off until the user turns them on,
 * which is when the browser asks for permission. Kept for this device until
 * sign-out. Shown through the service worker (Android has no page
 * notifications), one per room: a newer message replaces the room's last
 * (its tag). A click opens the room (`public/sw-notifications.js`, and
 * `startNotifications` here). Every open tab hears of each message: none
 * notifies while one of them is in front (a Web Lock each holds then), and
 * the service worker shows a message once, however many tabs ask.
 */
import { ref } from 'vue'
import type { Router } from 'vue-router'
import type { Message } from '@parley/schemas'
import { readLocal, removeLocal, writeLocal } from '../offline/local-store.ts'
import { preview } from './format.ts'

const KEY = 'parley:notify'
/** Held (shared) by each tab while it is in front. */
const IN_FRONT_LOCK = 'parley:in-front'

export type NotifyState = 'on' | 'off' | 'blocked' | 'unsupported'

const supported = () => typeof Notification !== 'undefined' && 'serviceWorker' in navigator

function currentState(): NotifyState {
  if (!supported()) return 'unsupported'
  if (Notification.permission === 'denied') return 'blocked'
  return Notification.permission === 'granted' && readLocal(KEY) === 'on' ? 'on' : 'off'
}

export const notifyState = ref<NotifyState>(currentState())

/** Turns them on (asking the browser first) or off; resolves to the state it ends in. */
export async function setNotify(on: boolean): Promise<NotifyState> {
  if (on && supported()) {
    const permission = await Notification.requestPermission()
    if (permission === 'granted') writeLocal(KEY, 'on')
  } else {
    removeLocal(KEY)
  }
  notifyState.value = currentState()
  return notifyState.value
}

/** Signed out: the next person on this device starts with them off. */
export function forgetNotify(): void {
  removeLocal(KEY)
  notifyState.value = currentState()
}

/** Whether the user is looking at this tab now: then the page shows what came. */
const inFront = () => document.visibilityState === 'visible' && document.hasFocus()

/** Whether the user is looking at Parley in any tab (each holds IN_FRONT_LOCK while in front). */
async function parleyInFront(): Promise<boolean> {
  if (inFront()) return true
  const locks = await navigator.locks?.query().catch(() => undefined)
  return locks?.held?.some((lock) => lock.name === IN_FRONT_LOCK) ?? false
}

/**
 * A message someone else wrote in `room`, shown as a notification if they
 * are on and the user (`me`, their username) is not looking at Parley.
 */
export async function notifyMessage(
  message: Message,
  room: { title: string; direct: boolean; muted: boolean },
  me: string | undefined,
): Promise<void> {
  if (notifyState.value !== 'on' || (await parleyInFront())) return
  const who = message.author.displayName
  // What a mention is, as the room shows it; loaded here, or marked and DOMPurify would join
  // the first script. Not loaded (a deploy took the old chunk away): the plain title will do.
  const mentioned = await import('./markdown.ts')
    .then(({ renderMessage }) => renderMessage(message.body, { me, known: new Set() }).mentionsMe)
    .catch(() => false)
  // A muted room's messages are not news; one naming the user still is.
  if (room.muted && !mentioned) return
  const title = room.direct
    ? who
    : mentioned
      ? `${who} mentioned you in ${room.title}`
      : `${who} in ${room.title}`
  const options: NotificationOptions = {
    body: preview(message.body, 200),
    tag: message.roomId,
    icon: '/icon-192.png',
    data: { path: `/rooms/${message.roomId}` },
  }
  const worker = await navigator.serviceWorker.getRegistration().catch(() => undefined)
  if (worker?.active) {
    const { roomId, seq } = message
    worker.active.postMessage({ type: 'parley:notify', roomId, seq, title, options })
    return
  }
  try {
    new Notification(title, options) // no worker (dev): a page notification
  } catch {
    /* the browser would not show it now: the room list has it */
  }
}

/**
 * Holds IN_FRONT_LOCK while this tab is in front, for the other tabs to see.
 * Each change takes a new generation, so a request granted after the tab
 * went to the back lets go at once instead of holding on.
 */
function holdWhileInFront(): void {
  if (!navigator.locks) return
  let held = false
  let generation = 0
  let release = () => {}
  const update = () => {
    if (inFront() === held) return
    held = !held
    const mine = ++generation
    release()
    release = () => {}
    if (!held) return
    void navigator.locks.request(IN_FRONT_LOCK, { mode: 'shared' }, () => {
      return new Promise<void>((resolve) => {
        if (mine === generation) release = resolve
        else resolve()
      })
    })
  }
  document.addEventListener('visibilitychange', update)
  window.addEventListener('focus', update)
  window.addEventListener('blur', update)
  update()
}

/**
 * At start: a click on a notification (relayed by the service worker) opens
 * its room here, and the bell follows a permission changed in the browser's
 * settings and a choice made in another tab.
 */
export function startNotifications(router: Router): void {
  if (!supported()) return
  holdWhileInFront()
  const follow = () => (notifyState.value = currentState())
  window.addEventListener('storage', (event) => {
    if (event.key === KEY || event.key === null) follow()
  })
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as { type?: string; path?: string } | null
    if (data?.type === 'parley:open' && data.path?.startsWith('/rooms/'))
      void router.push(data.path)
  })
  void navigator.permissions
    ?.query({ name: 'notifications' })
    .then((status) => status.addEventListener('change', follow))
    .catch(() => {})
}
