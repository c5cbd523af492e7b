import { onBeforeUnmount, onMounted, type Ref } from 'vue'
import { useRouter } from 'vue-router'
import type { RoomListItem } from '@parley/schemas'
import { roomAlong } from '../lib/rooms.ts'

/** How the filter's key is written on this device. */
export const FILTER_KEY = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘K' : 'Ctrl K'

/**
 * The keys other chat apps use to move between rooms: Ctrl+K (⌘K) to the
 * room filter; Alt+↑/↓ to the room above or below in the list as shown, and
 * with Shift to the nearest one with something unread. Not while a dialog is
 * open, nor while the list is off screen (a phone showing a room).
 */
export function useRoomKeys(
  shown: Readonly<Ref<readonly RoomListItem[]>>,
  activeId: Readonly<Ref<string | null>>,
  filterInput: Readonly<Ref<HTMLInputElement | null>>,
): { openFirst(): boolean } {
  const router = useRouter()
  const open = (roomId: string) => void router.push({ name: 'room', params: { roomId } })

  function onKeydown(e: KeyboardEvent) {
    const input = filterInput.value
    if (e.defaultPrevented || e.isComposing || !input?.getClientRects().length) return
    if (document.querySelector('dialog[open]')) return
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
      e.preventDefault()
      input.focus()
      input.select()
    } else if (e.altKey && !e.ctrlKey && !e.metaKey && /^Arrow(Up|Down)$/.test(e.key)) {
      // Not from a message being edited: leaving the room would drop the edit
      // (the composer keeps its draft per room).
      if ((e.target as Element).closest?.('textarea:not(form.composer textarea)')) return
      e.preventDefault()
      const next = roomAlong(shown.value, activeId.value, e.key === 'ArrowUp' ? -1 : 1, e.shiftKey)
      if (next) open(next.id)
    }
  }
  onMounted(() => document.addEventListener('keydown', onKeydown))
  onBeforeUnmount(() => document.removeEventListener('keydown', onKeydown))

  return {
    /** Enter in the filter: the first room it shows, if any. */
    openFirst() {
      const first = shown.value[0]
      if (first) open(first.id)
      return !!first
    },
  }
}
