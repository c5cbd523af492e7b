import { computed, onScopeDispose, watchEffect, type Ref } from 'vue'
import type { RoomListItem } from '@parley/schemas'

const APP_NAME = 'Parley'

/**
 * The unread total where people look when Parley is not in front: the tab's
 * title ("(3) Parley") and, for the installed app, its icon (Badging API,
 * where the platform has it). The room on screen is already counted as read.
 */
export function useUnreadTitle(rooms: Ref<RoomListItem[]>): void {
  const total = computed(() => rooms.value.reduce((n, r) => n + r.unread, 0))
  watchEffect(() => {
    const n = total.value
    document.title = n ? `(${n > 99 ? '99+' : n}) ${APP_NAME}` : APP_NAME
    if ('setAppBadge' in navigator) {
      void (n ? navigator.setAppBadge(n) : navigator.clearAppBadge()).catch(() => undefined)
    }
  })
  onScopeDispose(() => {
    document.title = APP_NAME
    if ('clearAppBadge' in navigator) void navigator.clearAppBadge().catch(() => undefined)
  })
}
