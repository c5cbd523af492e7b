import { acceptHMRUpdate, defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { LoginInput, PublicUser, RegisterInput } from '@parley/schemas'
import { renameUser } from '../lib/cache.ts'
import { isNetworkError } from '../lib/errors.ts'
import { forgetNotify } from '../lib/notifications.ts'
import { forgetReadMarkers } from '../lib/read-markers.ts'
import { queryClient } from '../lib/query-client.ts'
import { callMutation, callQuery } from '../lib/trpc-query.ts'
import { reconnectTrpc, retireSocket } from '../lib/trpc.ts'
import { closeUserDb, deleteUserDb, forgetRooms, openUserDb } from '../offline/db.ts'
import { forgetDrafts, hasDrafts } from '../offline/drafts.ts'
import { forgetReadingPlaces } from '../offline/reading-places.ts'
import {
  clearLogoutPending,
  forgetKept,
  forgetUser,
  keepFor,
  keptFor,
  logoutPending,
  markLogoutPending,
  onRememberedUserChange,
  rememberUser,
  rememberedUser,
} from '../offline/remembered-user.ts'
import { useOutboxStore } from './outbox.ts'

export type SessionStatus = 'unknown' | 'signedIn' | 'signedOut'

/**
 * Who is signed in. A remembered user signs the app in at once (offline cold
 * start); `auth.me` then confirms or corrects it whenever the server answers.
 */
export const useSessionStore = defineStore('session', () => {
  const user = ref<PublicUser | null>(null)
  const status = ref<SessionStatus>('unknown')
  /** The server confirmed the session during this run (false: from cache only). */
  const verified = ref(false)
  let started: Promise<void> | null = null
  let loggingOut: Promise<void> | null = null

  /** Whose unsent messages and drafts wait on this device for their next sign-in (their session ended). */
  const kept = ref<PublicUser | null>(keptFor())

  const signedIn = computed(() => status.value === 'signedIn')

  function adopt(next: PublicUser): void {
    if (user.value && user.value.id !== next.id) closeUserDb()
    // Someone else signing in here: what was kept for the last user goes (a shared device).
    const waiting = keptFor()
    if (waiting && waiting.id !== next.id) {
      forgetDrafts(waiting.id)
      void deleteUserDb(waiting.id).catch(() => {})
    }
    forgetKept()
    kept.value = null
    user.value = next
    status.value = 'signedIn'
    rememberUser(next)
    void openUserDb(next.id)
  }

  /** Signs this tab out: memory, the remembered user, the open database. */
  function leave(): void {
    user.value = null
    status.value = 'signedOut'
    verified.value = false
    forgetUser()
    forgetReadingPlaces()
    forgetNotify()
    forgetReadMarkers()
    useOutboxStore().reset()
    closeUserDb()
    queryClient.clear()
  }

  /** Forget the user here: memory, the remembered user, their drafts and IndexedDB (rooms, messages, outbox). */
  function dropLocal(): Promise<void> {
    const id = user.value?.id
    leave()
    if (id) forgetDrafts(id)
    return id ? deleteUserDb(id).catch(() => {}) : Promise.resolve()
  }

  /**
   * The server says the session is over, and the user did not sign out: it
   * expired, or was ended elsewhere while this device was offline. What they
   * wrote and had not sent (outbox, drafts) is theirs: it stays, for their
   * next sign-in here, which sends it; their rooms and messages go, as at
   * sign-out. With nothing waiting, everything goes.
   */
  async function lapse(): Promise<void> {
    const who = user.value
    if (!who) return dropLocal()
    const waiting = (await useOutboxStore().waiting()).length > 0 || hasDrafts(who.id)
    if (user.value !== who) return // signed in or out meanwhile
    if (!waiting) return dropLocal()
    await forgetRooms().catch(() => {})
    keepFor(who)
    kept.value = who
    leave()
  }

  /**
   * Ends on the server a sign-out that has not reached it yet (made offline:
   * the cookie is still there). Throws while the server is unreachable.
   */
  function finishLogout(): Promise<void> {
    if (!logoutPending()) return Promise.resolve()
    loggingOut ??= callMutation('auth.logout', undefined)
      .then(() => clearLogoutPending())
      .finally(() => (loggingOut = null))
    return loggingOut
  }

  /** Ask the server who we are; keeps the cached user while the server is unreachable. */
  async function verify(): Promise<void> {
    try {
      // Never before a pending sign-out is done: the cookie would sign the user back in.
      await finishLogout()
      const me = await callQuery('auth.me', undefined)
      if (me) {
        adopt(me.user)
        verified.value = true
      } else if (status.value !== 'signedOut') {
        await lapse() // expired, or ended while the app was closed or offline
      }
    } catch (err) {
      if (!isNetworkError(err) || !user.value) status.value = user.value ? 'signedIn' : 'signedOut'
    }
  }

  /**
   * Decide the initial state: resolves at once with a remembered user (and
   * verifies in the background), otherwise after the server answers.
   */
  function start(): Promise<void> {
    if (!started) {
      // Another tab signed out, or signed someone else in. This tab's
      // memory (outbox, cached rooms) is the old user's, and its socket, if it
      // missed the sign-out, reopens with the new cookie: start afresh.
      onRememberedUserChange((next) => {
        if (next?.id !== user.value?.id) window.location.reload()
      })
      const cached = rememberedUser()
      if (cached) {
        adopt(cached)
        void verify()
        started = Promise.resolve()
      } else {
        started = verify()
      }
    }
    return started
  }

  /** Sign-in and sign-up: the same steps around their mutation. */
  async function signInWith(call: () => Promise<{ user: PublicUser }>): Promise<void> {
    // A pending sign-out's answer must not land after this one's cookie and clear it.
    await finishLogout().catch(() => {})
    const { user: next } = await call()
    clearLogoutPending() // the server ended the session this browser held before
    adopt(next)
    verified.value = true
    await reconnectTrpc()
  }
  const login = (input: LoginInput) => signInWith(() => callMutation('auth.login', input))
  const register = (input: RegisterInput) => signInWith(() => callMutation('auth.register', input))

  /**
   * Sign out here: server session, cookie, this user's IndexedDB and cache.
   * Offline, the local data still goes, and the server session is ended at
   * the next chance (start, the connection's return, a sign-in): marked
   * first, so a page closed meanwhile does not forget it. This device signs
   * out at once, whatever the network does (a request that hangs offline
   * kept the app signed in until it failed).
   */
  async function logout(): Promise<void> {
    markLogoutPending()
    retireSocket() // the server closes it as the session ends; it is replaced below
    const ending = finishLogout().catch(() => {})
    await dropLocal()
    // The next socket must not open with the old cookie while the server may still take it.
    await ending
    await reconnectTrpc()
  }

  /**
   * Sign out on every device: the server ends all of the user's sessions
   * (closing their sockets, this tab's too), then this device forgets the user
   * as at sign-out. Unlike a sign-out it needs the server: offline, or
   * refused, it throws and nothing changes here.
   */
  async function logoutEverywhere(): Promise<void> {
    await callMutation('auth.logoutAll', undefined)
    retireSocket()
    await dropLocal()
    await reconnectTrpc()
  }

  /**
   * Someone's new name, in the member lists and direct rooms held: a
   * roommate's, or the user's own (set here or on another device), which is
   * also shown and remembered for offline starts.
   */
  function renamed(next: PublicUser): void {
    renameUser(queryClient, next)
    if (user.value?.id !== next.id) return
    user.value = next
    rememberUser(next)
  }

  /** The server revoked the session (e.g. "sign out everywhere"). */
  function revoked(): void {
    void dropLocal()
    void reconnectTrpc()
  }

  return {
    user,
    kept,
    status,
    verified,
    signedIn,
    start,
    verify,
    login,
    register,
    logout,
    logoutEverywhere,
    finishLogout,
    renamed,
    revoked,
  }
})

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useSessionStore, import.meta.hot))
