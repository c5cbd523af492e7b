import type { RoomListItem } from '@parley/schemas'
import { afterEach, expect, it } from 'vitest'
import { defineComponent, nextTick, ref } from 'vue'
import { createMemoryHistory, createRouter } from 'vue-router'
import { mountComposable } from '../test/mount-composable.ts'
import { useUnreadTitle } from './useUnreadTitle.ts'

const A = 'a'.repeat(24)
const B = 'b'.repeat(24)
const room = (id: string, name: string, unread: number) => ({ id, name, unread, direct: false, directPeople: [] }) as unknown as RoomListItem

let unmount = () => {}
afterEach(() => unmount())

async function mountAt(path: string) {
  const page = defineComponent({ render: () => null })
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/', name: 'home', component: page },
      { path: '/browse', name: 'browse', component: page },
      { path: '/rooms/:roomId', name: 'room', component: page },
    ],
  })
  const rooms = ref([room(A, 'general', 0), room(B, 'random', 3)])
  await router.push(path)
  ;({ unmount } = mountComposable(() => useUnreadTitle(rooms), undefined, [router]))
  await nextTick()
  return { router, rooms }
}

it('names the screen in the title, after the unread total, so tabs, history and screen readers tell screens apart', async () => {
  const { router, rooms } = await mountAt(`/rooms/${A}`)
  expect(document.title).toBe('(3) general · Parley')
  await router.push('/browse')
  expect(document.title).toBe('(3) Browse rooms · Parley')
  await router.push('/')
  expect(document.title).toBe('(3) Parley')
  rooms.value = [room(A, 'general', 0), room(B, 'random', 0)]
  await router.push(`/rooms/${B}`)
  expect(document.title).toBe('random · Parley')
  // A room not in the list (a public room's preview) has no name here yet.
  await router.push(`/rooms/${'c'.repeat(24)}`)
  expect(document.title).toBe('Parley')
  unmount()
  expect(document.title).toBe('Parley')
})

it('leaves a muted room out of the total', async () => {
  const { rooms } = await mountAt('/')
  rooms.value = [{ ...room(A, 'general', 2), muted: true }, room(B, 'random', 3)]
  await nextTick()
  expect(document.title).toBe('(3) Parley')
  rooms.value = [{ ...room(A, 'general', 2), muted: true }, room(B, 'random', 0)]
  await nextTick()
  expect(document.title).toBe('Parley')
})
