import { createRouter, createWebHistory } from 'vue-router'
import { reloadOnStaleBuild } from './lib/stale-build.ts'
// Part of the app's first script, not page chunks: they must open offline
// before the service worker has stored the app (a first visit, or a browser
// that allows no worker), when a chunk could not be fetched: the sign-in form
// a sign-out goes to, and home, which on a phone is the room list.
import HomePage from './pages/HomePage.vue'
import SignInPage from './pages/SignInPage.vue'
import { useSessionStore } from './stores/session.ts'

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable signed out (sign-in, sign-up); signed-in users are sent home. */
    guest?: boolean
  }
}

export function createAppRouter() {
  const router = createRouter({
    history: createWebHistory(),
    routes: [
      {
        path: '/signin',
        name: 'signin',
        component: SignInPage,
        meta: { guest: true },
      },
      {
        path: '/signup',
        name: 'signup',
        component: () => import('./pages/SignUpPage.vue'),
        meta: { guest: true },
      },
      { path: '/', name: 'home', component: HomePage },
      { path: '/browse', name: 'browse', component: () => import('./pages/BrowsePage.vue') },
      {
        path: '/rooms/:roomId',
        name: 'room',
        component: () => import('./pages/RoomPage.vue'),
        props: true,
      },
      { path: '/:rest(.*)*', redirect: '/' },
    ],
  })

  router.beforeEach(async (to) => {
    const session = useSessionStore()
    await session.start()
    if (to.meta.guest && session.signedIn) return { name: 'home' }
    if (!to.meta.guest && !session.signedIn) {
      return { name: 'signin', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
    }
    return true
  })
  reloadOnStaleBuild(router)

  return router
}
