import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import { VitePWA } from 'vite-plugin-pwa'

const api = { target: 'http://localhost:3000', ws: true, changeOrigin: false }

export default defineConfig({
  plugins: [
    vue(),
    VitePWA({
      registerType: 'prompt',
      strategies: 'generateSW',
      // Registration happens in AppUpdatePrompt through useRegisterSW.
      injectRegister: false,
      includeAssets: ['favicon.svg', 'favicon.png', 'apple-touch-icon.png'],
      manifest: {
        // The app's identity for the browser: fixed, so start_url can change
        // without the installed app becoming another one.
        id: '/',
        name: 'Parley',
        short_name: 'Parley',
        description: 'Real-time chat rooms that keep working offline.',
        lang: 'en',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'any',
        theme_color: '#4f46e5',
        background_color: '#0f1020',
        categories: ['social', 'communication'],
        // Chromium's richer install dialog (Android, desktop) shows these with
        // the description; without them it offers a bare one-line prompt.
        // Written by apps/web/e2e/install.test.ts at these sizes.
        screenshots: [
          {
            src: '/screenshots/room-mobile.png',
            sizes: '780x1688',
            type: 'image/png',
            form_factor: 'narrow',
            label: 'A room on a phone: messages, reactions and markdown, in the dark theme',
          },
          {
            src: '/screenshots/room-desktop.png',
            sizes: '1440x900',
            type: 'image/png',
            form_factor: 'wide',
            label: 'A room on a desktop, with the room list and who is online',
          },
        ],
        // The installed app's icon menu (right-click, long-press) opens these directly.
        shortcuts: [
          {
            name: 'Browse rooms',
            short_name: 'Browse',
            description: 'Find public rooms to join, or start your own',
            url: '/browse',
            icons: [{ src: '/icon-192.png', sizes: '192x192', type: 'image/png' }],
          },
        ],
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          {
            src: '/icon-maskable-512.png',
            sizes: '512x512',
            type: 'image/png',
            purpose: 'maskable',
          },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,ico,webmanifest,woff2}'],
        // Only install dialogs show them: not 240 KB on every device.
        globIgnores: ['screenshots/**'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/trpc/, /^\/healthz/, /^\/readyz/, /^\/metrics/],
        // API responses are never cached here: offline data comes from IndexedDB.
        runtimeCaching: [],
        // …and API calls do not go through the worker at all where the browser
        // allows (public/sw-routes.js). A message's notification opens its
        // room when clicked (public/sw-notifications.js).
        importScripts: ['sw-routes.js', 'sw-notifications.js'],
        cleanupOutdatedCaches: true,
        // A first visit's page is not the worker's until it claims it: "works
        // offline" was said, but a page not yet opened (its chunk) could not
        // open offline before a reload. Updates still wait for the prompt
        // (no skipWaiting); the pages of the old worker move to the new one
        // as it activates, as they did without this.
        clientsClaim: true,
      },
      devOptions: { enabled: false },
    }),
  ],
  server: { proxy: { '/trpc': api } },
  preview: { proxy: { '/trpc': api } },
  build: { target: 'es2022', sourcemap: true },
})
