import type { Message } from '@parley/schemas'
import { LIMITS } from '@parley/schemas/limits'

const GROUP_MS = 5 * 60_000

// The locale's own short time ("5:07 PM" in the US, "17:07" in Britain); a
// forced two-digit hour showed "05:07 AM", in every row and its spoken label.
const TIME: Intl.DateTimeFormatOptions = { timeStyle: 'short' }
const time = new Intl.DateTimeFormat(undefined, TIME)
const day = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'short', day: 'numeric' })
const dayOfYear = new Intl.DateTimeFormat(undefined, {
  weekday: 'long',
  month: 'short',
  day: 'numeric',
  year: 'numeric',
})
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/** `locales` is the browser's unless given (tests pin one). */
export const formatTime = (iso: string, locales?: string) =>
  (locales ? new Intl.DateTimeFormat(locales, TIME) : time).format(new Date(iso))
export const formatFull = (iso: string) => full.format(new Date(iso))

export function formatDay(iso: string, now = new Date()): string {
  const d = new Date(iso)
  const startOf = (x: Date) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime()
  const diff = Math.round((startOf(now) - startOf(d)) / 86_400_000)
  if (diff === 0) return 'Today'
  if (diff === 1) return 'Yesterday'
  return (d.getFullYear() === now.getFullYear() ? day : dayOfYear).format(d)
}

/**
 * When a message was said, for a list out of the conversation (search results):
 * "Today at 5:07 PM", "Yesterday at 9:12 AM", "Monday, Mar 2 at 5:07 PM", with
 * the year when it is not this one. The exact stamp goes in a title.
 */
export function formatWhen(iso: string, now = new Date()): string {
  return `${formatDay(iso, now)} at ${formatTime(iso)}`
}

/**
 * When a signed-in device was last used, to the day: the server notes use at
 * most hourly (the auth package's `touchIntervalMs`), so a time would claim
 * more than it knows. "Active today", "Active yesterday", "Last active Mon".
 */
export function lastActive(iso: string, now = new Date()): string {
  const when = formatDay(iso, now)
  if (when === 'Today' || when === 'Yesterday') return `Active ${when.toLowerCase()}`
  return `Last active ${formatShort(iso, now)}`
}

/** Short relative stamp for the room list: 14:05, Mon, 12 Mar. */
export function formatShort(iso: string, now = new Date()): string {
  const d = new Date(iso)
  if (now.getTime() - d.getTime() < 86_400_000 && d.getDate() === now.getDate())
    return formatTime(iso)
  if (now.getTime() - d.getTime() < 6 * 86_400_000) {
    return d.toLocaleDateString(undefined, { weekday: 'short' })
  }
  return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })
}

// The list asks these of every message on screen at each update: compare
// calendar days by their numbers, not by formatting labels.
const sameDay = (a: Date, b: Date) =>
  a.getDate() === b.getDate() &&
  a.getMonth() === b.getMonth() &&
  a.getFullYear() === b.getFullYear()

/**
 * Consecutive messages by one author within 5 minutes, on one day, form a
 * group. A new name starts one: the group's head shows the name its messages
 * were sent with.
 */
export function startsGroup(prev: Message | undefined, m: Message): boolean {
  if (!prev) return true
  if (prev.author.id !== m.author.id) return true
  if (prev.author.displayName !== m.author.displayName) return true
  if (prev.deleted !== m.deleted) return true
  const [a, b] = [new Date(prev.createdAt), new Date(m.createdAt)]
  return b.getTime() - a.getTime() > GROUP_MS || !sameDay(a, b)
}

/** The first message of a calendar day (local time) gets the day's separator. */
export function startsDay(prev: Message | undefined, m: Message): boolean {
  return !prev || !sameDay(new Date(prev.createdAt), new Date(m.createdAt))
}

export function initials(name: string): string {
  const parts = name
    .trim()
    .split(/[\s._-]+/)
    .filter(Boolean)
  return ((parts[0]?.[0] ?? '?') + (parts[1]?.[0] ?? '')).toUpperCase()
}

/** A stable hue per user id for avatars. */
export function hueOf(id: string): number {
  let h = 0
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0
  return h % 360
}

/** A markdown body without its quoted lines: the words its author wrote. */
function ownWords(body: string): string {
  return body
    .split('\n')
    .filter((line) => !/^\s*>/.test(line))
    .join('\n')
    .trim()
}

/**
 * Plain-text preview of a markdown body for the room list and notifications.
 * A reply shows its own words, not the words it quotes (unless a quote is all
 * there is).
 */
export function preview(body: string, max = 80): string {
  const text = (ownWords(body) || body)
    .replace(/```[\s\S]*?```/g, '[code]')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_~`>#]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
  return shorten(text, max)
}

/** How much of a message a reply quotes: enough to say which, not a copy. */
const QUOTE_MAX = 280
/**
 * What a reply to `message` starts with: its words quoted (without the quotes
 * it held itself, so replies do not nest ever deeper; cut at QUOTE_MAX), then,
 * to someone else, their @username, so they hear of it.
 */
export function replyStart(
  message: Pick<Message, 'body' | 'author'>,
  meId: string | undefined,
): string {
  const quote = shorten(ownWords(message.body) || message.body.trim(), QUOTE_MAX)
    .split('\n')
    .map((line) => `> ${line}`.trimEnd())
    .join('\n')
  return `${quote}\n\n${message.author.id === meId ? '' : `@${message.author.username} `}`
}

/** `text` cut to at most `max` characters (code points, so no emoji is split), the last being "…". */
export function shorten(text: string, max: number): string {
  const chars = [...text]
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text
}

export interface LengthNote {
  text: string
  /** Past the limit: nothing is sent or saved until it fits. */
  over: boolean
}
/**
 * What a message box (or a room's name or topic) says about its length: the
 * characters left once fewer than `countFrom`, or how far over the limit the
 * text is (a paste is kept whole, not cut at the limit, so the writer chooses
 * what goes); null while far from it.
 */
export function lengthNote(
  length: number,
  max: number = LIMITS.messageBodyMax,
  countFrom = 200,
): LengthNote | null {
  const left = max - length
  if (left >= countFrom) return null
  if (left >= 0) return { text: String(left), over: false }
  const by = -left
  return {
    text: `Too long by ${by.toLocaleString('en')} character${by === 1 ? '' : 's'}`,
    over: true,
  }
}
