/**
 * rooms.browse and messages.search find text with a regex built from what the user typed:
 * it must match the text literally, and hold nothing real MongoDB refuses
 * (a NUL byte in a pattern is an error there, while the embedded server's
 * JavaScript RegExp takes it, so only this test would notice).
 */
import { expect, test } from 'vitest'
import { escapeRegex } from '../src/repos/search-pattern.ts'

test('a search pattern matches the text literally and never holds a NUL byte', () => {
  for (const typed of ['a.b', '(x)+[y]*', '^$|\\', 'c++ {1,2}?', 'nul\0here']) {
    const pattern = escapeRegex(typed)
    expect(pattern).not.toContain('\0')
    expect(new RegExp(`^${pattern}$`).test(typed)).toBe(true)
  }
})
