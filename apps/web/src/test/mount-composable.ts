import { QueryClient, VueQueryPlugin } from '@tanstack/vue-query'
import { createPinia } from 'pinia'
import { createApp, defineComponent } from 'vue'

/**
 * Runs `setup` (a composable) inside a mounted app with Vue Query and Pinia,
 * as a component would; `qc` is the app's query cache.
 */
export function mountComposable(setup: () => void, qc = new QueryClient()) {
  const app = createApp(
    defineComponent({
      setup() {
        setup()
        return () => null
      },
    }),
  )
  app.use(createPinia()).use(VueQueryPlugin, { queryClient: qc })
  app.mount(document.createElement('div'))
  return { qc, unmount: () => app.unmount() }
}
