import { acceptHMRUpdate, defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { onConnectionChange } from '../lib/trpc.ts'

export type ConnectionStatus = 'connecting' | 'online' | 'reconnecting' | 'offline'

/** Browser network state + the tRPC WebSocket's state, as one status for the UI. */
export const useConnectionStore = defineStore('connection', () => {
  const browserOnline = ref(typeof navigator === 'undefined' ? true : navigator.onLine)
  const socket = ref<'connecting' | 'open' | 'closed'>('connecting')
  const everOpened = ref(false)
  /** Ticks on every (re)open: watchers refetch state that events cannot replay. */
  const opens = ref(0)
  const lastCloseCode = ref<number | undefined>()
  /** When an open socket last closed (Date.now()): news sent meanwhile was lost. */
  const droppedAt = ref<number | null>(null)

  onConnectionChange({
    open() {
      socket.value = 'open'
      everOpened.value = true
      opens.value++
    },
    close(code) {
      if (socket.value === 'open') droppedAt.value = Date.now()
      socket.value = 'closed'
      lastCloseCode.value = code
    },
  })

  if (typeof window !== 'undefined') {
    window.addEventListener('online', () => (browserOnline.value = true))
    window.addEventListener('offline', () => (browserOnline.value = false))
  }

  const status = computed<ConnectionStatus>(() => {
    if (!browserOnline.value) return 'offline'
    if (socket.value === 'open') return 'online'
    if (everOpened.value) return 'reconnecting'
    return socket.value === 'closed' ? 'offline' : 'connecting'
  })
  const online = computed(() => status.value === 'online')
  /** What needs the server (a dialog's action, a room not saved here) says so rather than waits. */
  const offline = computed(() => status.value === 'offline')

  return {
    browserOnline,
    socket,
    everOpened,
    opens,
    lastCloseCode,
    droppedAt,
    status,
    online,
    offline,
  }
})

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useConnectionStore, import.meta.hot))
