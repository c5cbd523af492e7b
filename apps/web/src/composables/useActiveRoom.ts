import { ref } from 'vue'

/** The room on screen (null elsewhere): its unread count stays at zero. */
export const activeRoomId = ref<string | null>(null)

export function isActiveRoom(roomId: string): boolean {
  return activeRoomId.value === roomId && document.visibilityState === 'visible'
}
