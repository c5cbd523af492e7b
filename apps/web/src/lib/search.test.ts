import { expect, it } from 'vitest'
import { searchHeld, searchParts } from './search.ts'

const marked = (body: string, query: string, max?: number) =>
  searchParts(body, query, max)
    .map((p) => (p.match ? `[${p.text}]` : p.text))
    .join('')

it('marks every occurrence of the words, in any case, as they were written', () => {
  expect(marked('The Wi-Fi is down; wi-fi back at 5', 'WI-FI')).toBe(
    'The [Wi-Fi] is down; [wi-fi] back at 5',
  )
  expect(marked('nothing here', 'wifi')).toBe('nothing here')
  // Taken literally, as the server does.
  expect(marked('a.b and axb', 'a.b')).toBe('[a.b] and axb')
})

it('keeps one line, and a match far into a long message in sight', () => {
  expect(marked('line one\n\nline   two', 'two')).toBe('line one line [two]')
  const long = `${'word '.repeat(100)}needle ${'tail '.repeat(100)}`
  const shown = marked(long, 'needle', 120)
  expect(shown.startsWith('…word ')).toBe(true) // from the start of a word
  expect(shown.endsWith('…')).toBe(true)
  expect(shown).toContain('[needle]')
  expect(shown.length).toBeLessThanOrEqual(120 + 4)
})

it('searchHeld finds what the device holds as the server would: any case, literally, newest first, never a deleted message', () => {
  const held = [
    { seq: 1, body: 'Platform 9 tonight', deleted: false },
    { seq: 2, body: '', deleted: true },
    { seq: 3, body: 'no train (yet)', deleted: false },
    { seq: 4, body: 'the PLATFORM moved', deleted: false },
  ]
  const { found, searched } = searchHeld(held, '  platform ')
  expect(found.map((m) => m.seq)).toEqual([4, 1])
  expect(searched).toBe(3)
  expect(searchHeld(held, '(yet)').found.map((m) => m.seq)).toEqual([3])
  expect(searchHeld(held, 'bus').found).toEqual([])
  expect(held.map((m) => m.seq)).toEqual([1, 2, 3, 4])
})
