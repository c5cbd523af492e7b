import { computed, onScopeDispose, watchEffect, type Ref } from 'vue'
import { useRoute } from 'vue-router'
import type { RoomListItem } from '@parley/schemas'
import { roomTitle } from '../lib/rooms.ts'
import { useSessionStore } from '../stores/session.ts'

const APP_NAME = 'Parley'

/**
 * The tab's title says where you are ("general · Parley"), so tabs, history
 * and a screen reader announcing the page tell screens apart, and carries
 * the unread total where people look when Parley is not in front ("(3) …");
 * for the installed app the total also goes on its icon (Badging API, where
 * the platform has it). The room on screen is already counted as read; a
 * muted room is not counted (its own badge in the list still shows).
 */
export function useUnreadTitle(rooms: Ref<RoomListItem[]>): void {
  const route = useRoute()
  const session = useSessionStore()
  const total = computed(() => rooms.value.reduce((n, r) => (r.muted ? n : n + r.unread), 0))
  const page = computed(() => {
    if (route.name === 'browse') return 'Browse rooms'
    if (route.name !== 'room') return null
    const room = rooms.value.find((r) => r.id === route.params.roomId)
    return room ? roomTitle(room, session.user?.id) : null
  })
  watchEffect(() => {
    const n = total.value
    const title = page.value ? `${page.value} · ${APP_NAME}` : APP_NAME
    document.title = n ? `(${n > 99 ? '99+' : n}) ${title}` : title
    if ('setAppBadge' in navigator) {
      void (n ? navigator.setAppBadge(n) : navigator.clearAppBadge()).catch(() => undefined)
    }
  })
  onScopeDispose(() => {
    document.title = APP_NAME
    if ('clearAppBadge' in navigator) void navigator.clearAppBadge().catch(() => undefined)
  })
}
