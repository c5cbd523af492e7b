import { ref } from 'vue'

/** The room on screen (null elsewhere): its unread count stays at zero. */
export const activeRoomId = ref<string | null>(null)

export function isActiveRoom(roomId: string): boolean {
  return activeRoomId.value === roomId && document.visibilityState === 'visible'
}

/**
 * The member list is open as a drawer over the room (a narrow screen): the
 * app's notices move to the bottom, off its header and first rows.
 */
export const memberDrawerOpen = ref(false)
