import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

// One run over every package: `pnpm test` (after build) or `pnpm vitest run --project api`.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tools/*', 'apps/web/vitest.e2e.config.ts'],
    // Vitest's default (one fewer than the cores) is a single worker on a
    // 2-core machine: each file would wait for the last. Most non-browser
    // files wait on sockets and timers, so two at a time took that part of
    // `pnpm test` from 410 s to 267 s here. The browser files keep to one at
    // a time (their project sets fileParallelism: false): each keeps both
    // cores busy, and two at once took longer than one after the other.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
})
