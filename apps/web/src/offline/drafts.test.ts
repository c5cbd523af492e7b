import { expect, it } from 'vitest'
import { computed } from 'vue'
import { draftsOf, forgetDrafts, saveDraft } from './drafts.ts'

const ROOM = 'a'.repeat(24)

it("what shows the drafts follows them: this tab's changes, another tab's, and sign-out", () => {
  const shown = computed(() => ({ ...draftsOf('u1') }))
  expect(shown.value).toEqual({})
  saveDraft('u1', ROOM, 'half a thought')
  expect(shown.value).toEqual({ [ROOM]: 'half a thought' })

  // Another tab writes its own drafts: this one hears of it by the storage event.
  localStorage.setItem('parley:drafts:u1', JSON.stringify({ [ROOM]: 'finished elsewhere' }))
  expect(shown.value).toEqual({ [ROOM]: 'half a thought' })
  window.dispatchEvent(new StorageEvent('storage', { key: 'parley:drafts:u1' }))
  expect(shown.value).toEqual({ [ROOM]: 'finished elsewhere' })

  saveDraft('u1', ROOM, '')
  expect(shown.value).toEqual({})
  saveDraft('u1', ROOM, 'again')
  forgetDrafts('u1')
  expect(shown.value).toEqual({})
})
