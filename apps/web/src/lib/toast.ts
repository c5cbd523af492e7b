import { ref } from 'vue'

export interface Toast {
  id: number
  text: string
  kind: 'info' | 'error'
}

let next = 1
export const toasts = ref<Toast[]>([])

/** A short notice at the top of the screen (errors of background actions). */
export function toast(text: string, kind: Toast['kind'] = 'info', ms = 4000): void {
  const id = next++
  toasts.value = [...toasts.value, { id, text, kind }]
  setTimeout(() => (toasts.value = toasts.value.filter((t) => t.id !== id)), ms)
}
