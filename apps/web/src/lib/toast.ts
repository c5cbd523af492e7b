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

/** A short notice below the page's header (errors of background actions); the newest are kept. */
export function toast(text: string, kind: Toast['kind'] = 'info', ms = 4000): void {
  const id = next++
  toasts.value = [...toasts.value, { id, text, kind }].slice(-MAX_TOASTS)
  setTimeout(() => (toasts.value = toasts.value.filter((t) => t.id !== id)), ms)
}
