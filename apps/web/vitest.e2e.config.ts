import { defineProject } from 'vitest/config'

// Browser tests: Debian's Chromium against the production build (run `pnpm build` first; `pnpm test` does).
export default defineProject({
  test: {
    name: 'web-e2e',
    include: ['e2e/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
})
