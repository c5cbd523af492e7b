import { ref } from 'vue'

export interface Toast {
  id: number
  text: string
  kind: 'info' | 'error'
}

/** More than this stacked reached down over the messages (a burst of offline errors did). */
export const MAX_TOASTS = 3

let next = 1
export const toasts = ref<Toast[]>([])
const timers = new Map<number, ReturnType<typeof setTimeout>>()

function expire(id: number, ms: number): void {
  clearTimeout(timers.get(id))
  timers.set(
    id,
    setTimeout(() => {
      timers.delete(id)
      toasts.value = toasts.value.filter((t) => t.id !== id)
    }, ms),
  )
}

/**
 * A short notice below the page's header (errors of background actions); the
 * newest are kept. The same notice again while it shows stays one notice,
 * shown for its full time from the last (two failed navigations stacked two
 * identical ones).
 */
export function toast(text: string, kind: Toast['kind'] = 'info', ms = 4000): void {
  const shown = toasts.value.find((t) => t.text === text && t.kind === kind)
  if (shown) return expire(shown.id, ms)
  const id = next++
  toasts.value = [...toasts.value, { id, text, kind }].slice(-MAX_TOASTS)
  expire(id, ms)
}
