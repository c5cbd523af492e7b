import { acceptHMRUpdate, defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { LoginInput, PublicUser, RegisterInput } from '@parley/schemas'
import { isNetworkError } from '../lib/errors.ts'
import { queryClient } from '../lib/query-client.ts'
import { callMutation, callQuery } from '../lib/trpc-query.ts'
import { reconnectTrpc } from '../lib/trpc.ts'
import { closeUserDb, deleteUserDb, openUserDb } from '../offline/db.ts'
import { forgetUser, rememberUser, rememberedUser } from '../offline/remembered-user.ts'
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

  const signedIn = computed(() => status.value === 'signedIn')

  function adopt(next: PublicUser): void {
    if (user.value && user.value.id !== next.id) closeUserDb()
    user.value = next
    status.value = 'signedIn'
    rememberUser(next)
    void openUserDb(next.id)
  }

  /** Forget the user here: memory, the remembered user and their IndexedDB (rooms, messages, outbox). */
  function dropLocal(): Promise<void> {
    const id = user.value?.id
    user.value = null
    status.value = 'signedOut'
    verified.value = false
    forgetUser()
    useOutboxStore().reset()
    closeUserDb()
    queryClient.clear()
    return id ? deleteUserDb(id).catch(() => {}) : Promise.resolve()
  }

  /** Ask the server who we are; keeps the cached user while the server is unreachable. */
  async function verify(): Promise<void> {
    try {
      const me = await callQuery('auth.me', undefined)
      if (me) {
        adopt(me.user)
        verified.value = true
      } else if (status.value !== 'signedOut') {
        void dropLocal() // expired or revoked while the app was closed
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

  async function login(input: LoginInput): Promise<void> {
    const { user: next } = await callMutation('auth.login', input)
    adopt(next)
    verified.value = true
    await reconnectTrpc()
  }

  async function register(input: RegisterInput): Promise<void> {
    const { user: next } = await callMutation('auth.register', input)
    adopt(next)
    verified.value = true
    await reconnectTrpc()
  }

  /** Sign out here: server session, cookie, this user's IndexedDB and cache. */
  async function logout(): Promise<void> {
    try {
      await callMutation('auth.logout', undefined)
    } catch {
      // Offline: the local data still goes; the server session expires by itself.
    }
    await dropLocal()
    await reconnectTrpc()
  }

  /** The server revoked the session (e.g. "sign out everywhere"). */
  function revoked(): void {
    void dropLocal()
    void reconnectTrpc()
  }

  return { user, status, verified, signedIn, start, verify, login, register, logout, revoked }
})

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useSessionStore, import.meta.hot))
