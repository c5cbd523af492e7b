import { defineProject } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

export default defineProject({
  plugins: [vue()],
  test: {
    name: 'web',
    include: ['src/**/*.test.ts'],
    // Type tests (`*.test-d.ts`): the types the router hands the app (lib/contract.test-d.ts).
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    environment: 'happy-dom',
    setupFiles: ['src/test/happy-dom-setup.ts'],
  },
})
