import { computed, nextTick, ref, type Ref } from 'vue'
import type { PublicUser } from '@parley/schemas'
import { MENTION_BEING_TYPED } from '../lib/markdown.ts'

/** At most this many people are offered at once. */
const OFFERED_MAX = 6

/**
 * Naming someone in a text box (the composer, a message's editor): an `@`
 * where a mention can start (as `renderMessage` reads them), and what follows
 * it up to the caret, offer the people it may mean. `onLookup` hears the
 * first `@` of an offer: the page then fetches the whole member list.
 */
export function useMentionOffer(options: {
  input: Ref<HTMLTextAreaElement | null>
  text: Ref<string>
  people: () => readonly PublicUser[]
  onLookup: () => void
}) {
  const { input, text } = options
  const mention = ref<{ start: number; query: string } | null>(null)
  const active = ref(0)
  const offered = computed(() => {
    if (!mention.value) return []
    const query = mention.value.query.toLowerCase()
    const byName = (p: PublicUser) => p.username.startsWith(query)
    const byWord = (p: PublicUser) =>
      p.displayName
        .toLowerCase()
        .split(/[\s-]+/)
        .some((word) => word.startsWith(query))
    return options
      .people()
      .filter((p) => byName(p) || byWord(p))
      .sort(
        (a, b) =>
          Number(byName(b)) - Number(byName(a)) || a.displayName.localeCompare(b.displayName),
      )
      .slice(0, OFFERED_MAX)
  })
  const offering = computed(() => offered.value.length > 0)
  /** The option the keys are on (the list may have shrunk under it: the member list landed). */
  const current = computed(() => Math.min(active.value, offered.value.length - 1))

  /** Looks at what is typed before the caret: offers, or stops offering. */
  function find() {
    const el = input.value
    const caret = el?.selectionStart ?? 0
    const match =
      el && caret === el.selectionEnd ? MENTION_BEING_TYPED.exec(el.value.slice(0, caret)) : null
    const found = match ? { start: match.index, query: match[1]! } : null
    if (found && !mention.value) options.onLookup()
    if (found?.query !== mention.value?.query) active.value = 0
    mention.value = found
  }

  function close() {
    mention.value = null
  }

  /** Puts `@username ` in place of what was typed, the caret after it. */
  function pick(person: PublicUser) {
    const el = input.value
    if (!el || !mention.value) return
    const { start } = mention.value
    const name = `@${person.username} `
    text.value = text.value.slice(0, start) + name + text.value.slice(el.selectionStart)
    mention.value = null
    const caret = start + name.length
    void nextTick(() => {
      el.focus()
      el.setSelectionRange(caret, caret)
    })
  }

  /**
   * While people are offered, the arrows move among them, Enter or Tab names
   * one, Esc closes: true when the key was the offer's (the box must not act on it).
   */
  function onKey(e: KeyboardEvent): boolean {
    if (!offering.value || e.isComposing) return false
    const count = offered.value.length
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      active.value = (current.value + (e.key === 'ArrowDown' ? 1 : count - 1)) % count
    } else if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
      pick(offered.value[current.value]!)
    } else if (e.key === 'Escape') {
      mention.value = null
      e.stopPropagation()
    } else {
      return false
    }
    e.preventDefault()
    return true
  }

  return { offered, offering, current, find, close, pick, onKey }
}
