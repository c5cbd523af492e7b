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
    // What a user would see "at once" can take a few seconds on a CI machine
    // running every suite at the same time. With vitest's 1-s default the
    // unread badge's check failed once in seven CI runs (never alone, nor
    // beside a CPU hog); waiting longer still fails a value that stays wrong.
    expect: { poll: { timeout: 5_000 } },
  },
})
