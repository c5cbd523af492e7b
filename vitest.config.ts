import { defineConfig } from 'vitest/config'

// One run over every package: `pnpm test` (after build) or `pnpm vitest run --project api`.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*', 'tools/*', 'apps/web/vitest.e2e.config.ts'],
  },
})
