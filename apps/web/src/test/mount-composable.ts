import { QueryClient, VueQueryPlugin } from '@tanstack/vue-query'
import { createPinia } from 'pinia'
import { createApp, defineComponent, type Plugin } from 'vue'

/**
 * Runs `setup` (a composable) inside a mounted app with Vue Query and Pinia
 * (and `plugins`, e.g. a router), as a component would; `qc` is the app's query cache.
 */
export function mountComposable(setup: () => void, qc = new QueryClient(), plugins: Plugin[] = []) {
  const app = createApp(
    defineComponent({
      setup() {
        setup()
        return () => null
      },
    }),
  )
  app.use(createPinia()).use(VueQueryPlugin, { queryClient: qc })
  for (const plugin of plugins) app.use(plugin)
  app.mount(document.createElement('div'))
  return { qc, unmount: () => app.unmount() }
}
