import { describe, expect, it } from 'vitest'
import { message, user } from '../test/factories.ts'
import {
  formatDay,
  formatShort,
  formatTime,
  formatWhen,
  lastActive,
  lengthNote,
  preview,
  replyStart,
  shorten,
  startsDay,
  startsGroup,
} from './format.ts'

/** Local time, so the checks hold in any time zone the tests run in. */
const at = (y: number, month: number, d: number, h: number, min: number) =>
  new Date(y, month - 1, d, h, min).toISOString()
const alice = user()
const bob = user()

describe('the message list’s groups and day separators', () => {
  it('one author’s messages within five minutes form a group; another author, a gap or a deletion starts one', () => {
    const first = message({ author: alice, createdAt: at(2026, 3, 2, 10, 0) })
    expect(startsGroup(undefined, first)).toBe(true)
    expect(startsGroup(first, message({ author: alice, createdAt: at(2026, 3, 2, 10, 4) }))).toBe(
      false,
    )
    expect(startsGroup(first, message({ author: bob, createdAt: at(2026, 3, 2, 10, 1) }))).toBe(
      true,
    )
    expect(startsGroup(first, message({ author: alice, createdAt: at(2026, 3, 2, 10, 6) }))).toBe(
      true,
    )
    expect(
      startsGroup(
        first,
        message({ author: alice, createdAt: at(2026, 3, 2, 10, 1), deleted: true }),
      ),
    ).toBe(true)
  })

  it('a new name starts a group: its head shows the name the messages were sent with', () => {
    const before = message({ author: alice, createdAt: at(2026, 3, 2, 10, 0) })
    const renamed = { ...alice, displayName: `${alice.displayName} (new)` }
    expect(
      startsGroup(before, message({ author: renamed, createdAt: at(2026, 3, 2, 10, 1) })),
    ).toBe(true)
  })

  it('local midnight starts a day and a group, even a minute apart', () => {
    const late = message({ author: alice, createdAt: at(2026, 3, 1, 23, 59) })
    const early = message({ author: alice, createdAt: at(2026, 3, 2, 0, 0) })
    expect(startsDay(late, early)).toBe(true)
    expect(startsGroup(late, early)).toBe(true)
    expect(startsDay(undefined, late)).toBe(true)
    expect(startsDay(early, message({ createdAt: at(2026, 3, 2, 18, 30) }))).toBe(false)
  })

  it('the same date in another year is another day (both were a Sunday, 1 March)', () => {
    const before = message({ createdAt: at(2020, 3, 1, 9, 0) })
    expect(startsDay(before, message({ createdAt: at(2026, 3, 1, 9, 0) }))).toBe(true)
    // …and its separator says which year.
    const now = new Date(2026, 11, 3, 12, 0)
    expect(formatDay(before.createdAt, now)).toContain('2020')
    expect(formatDay(at(2026, 3, 1, 9, 0), now)).not.toContain('2026')
    expect(formatDay(at(2026, 12, 2, 9, 0), now)).toBe('Yesterday')
  })
})

describe('message times', () => {
  it('read as the locale writes a time: no padded hour where the clock has none', () => {
    const morning = at(2026, 3, 2, 5, 7)
    const evening = at(2026, 3, 2, 17, 7)
    // ICU spaces "AM" with a narrow no-break space; what matters is the hour.
    const plain = (s: string) => s.replace(/\s/g, ' ')
    expect(plain(formatTime(morning, 'en-US'))).toBe('5:07 AM')
    expect(plain(formatTime(evening, 'en-US'))).toBe('5:07 PM')
    expect(formatTime(morning, 'en-GB')).toBe('05:07')
    expect(formatTime(evening, 'de-DE')).toBe('17:07')
  })
})

describe('when a search result was said', () => {
  it('names the day as the message list does, then the time', () => {
    const now = new Date(2026, 2, 4, 12, 0)
    const time = (iso: string) => formatTime(iso)
    const today = at(2026, 3, 4, 9, 30)
    const yesterday = at(2026, 3, 3, 22, 5)
    const monday = at(2026, 3, 2, 17, 7)
    expect(formatWhen(today, now)).toBe(`Today at ${time(today)}`)
    expect(formatWhen(yesterday, now)).toBe(`Yesterday at ${time(yesterday)}`)
    expect(formatWhen(monday, now)).toBe(`${formatDay(monday, now)} at ${time(monday)}`)
    expect(formatWhen(monday, now)).toMatch(/^Monday, Mar 2 at /)
    expect(formatWhen(at(2025, 12, 31, 8, 0), now)).toMatch(/2025 at /)
  })
})

describe('when a signed-in device was last used', () => {
  it('says the day, not a time the server does not keep to the minute', () => {
    const now = new Date(2026, 2, 12, 10, 0)
    expect(lastActive(at(2026, 3, 12, 0, 5), now)).toBe('Active today')
    expect(lastActive(at(2026, 3, 11, 23, 55), now)).toBe('Active yesterday')
    const monday = at(2026, 3, 9, 15, 0)
    expect(lastActive(monday, now)).toBe(`Last active ${formatShort(monday, now)}`)
    expect(formatShort(monday, now)).not.toMatch(/\d:\d\d/)
  })
})

describe('shorten', () => {
  it('cuts to the limit with an ellipsis, counting an emoji as one character', () => {
    expect(shorten('design-review', 13)).toBe('design-review')
    expect(shorten('design-review', 7)).toBe('design…')
    expect(shorten('🎉🎉🎉🎉', 3)).toBe('🎉🎉…')
  })
})

describe('lengthNote: what a message box says about its length', () => {
  it('says nothing far from the limit, counts down near it, and says how far over a long text is', () => {
    expect(lengthNote(0, 4000)).toBeNull()
    expect(lengthNote(3800, 4000)).toBeNull()
    expect(lengthNote(3801, 4000)).toEqual({ text: '199', over: false })
    expect(lengthNote(4000, 4000)).toEqual({ text: '0', over: false })
    expect(lengthNote(4001, 4000)).toEqual({ text: 'Too long by 1 character', over: true })
    expect(lengthNote(5234, 4000)).toEqual({ text: 'Too long by 1,234 characters', over: true })
    // A short field counts from nearer its limit.
    expect(lengthNote(54, 64, 10)).toBeNull()
    expect(lengthNote(55, 64, 10)).toEqual({ text: '9', over: false })
  })
})

describe('a reply', () => {
  const ada = user({ username: 'ada' })
  it("quotes the message, each line, and names its author so they hear of it; one's own is not named", () => {
    const m = message({ author: ada, body: 'Deploy at **nine**?\nOr after lunch' })
    expect(replyStart(m, 'someone-else')).toBe('> Deploy at **nine**?\n> Or after lunch\n\n@ada ')
    expect(replyStart(m, ada.id)).toBe('> Deploy at **nine**?\n> Or after lunch\n\n')
  })

  it('leaves out what the message quoted itself, keeps a blank line in the quote, and quotes at most 280 characters', () => {
    const replied = message({
      author: ada,
      body: '> an older quote\n> of two lines\n\nyes, let us\n\ndo it',
    })
    expect(replyStart(replied, undefined)).toBe('> yes, let us\n>\n> do it\n\n@ada ')
    const long = message({ author: ada, body: 'x'.repeat(400) })
    expect(replyStart(long, undefined)).toBe(`> ${'x'.repeat(279)}…\n\n@ada `)
    // Nothing but a quote: that is what it said.
    expect(replyStart(message({ author: ada, body: '> just this' }), undefined)).toBe(
      '> > just this\n\n@ada ',
    )
  })
})

describe('a preview', () => {
  it('is plain text on one line; a reply shows its own words, and a message that is only a quote shows the quote', () => {
    expect(preview('**Deploy** at `nine`,\nthen [lunch](https://x.test)')).toBe(
      'Deploy at nine, then lunch',
    )
    expect(preview('> Ship it today?\n> Or wait\n\n@ada today is fine')).toBe('@ada today is fine')
    expect(preview('> just this')).toBe('just this')
  })
})
