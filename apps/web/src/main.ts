import { VueQueryPlugin } from '@tanstack/vue-query'
import { createPinia } from 'pinia'
import { createApp } from 'vue'
import App from './App.vue'
import { startNotifications } from './lib/notifications.ts'
import { queryClient } from './lib/query-client.ts'
import { createAppRouter } from './router.ts'
import './styles/main.css'

const app = createApp(App)
app.use(createPinia())
app.use(VueQueryPlugin, { queryClient })
const router = createAppRouter()
app.use(router)
startNotifications(router)
app.mount('#app')
