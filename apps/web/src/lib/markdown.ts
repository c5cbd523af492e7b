/**
 * Message bodies are markdown. Two layers keep them safe: marked shows any raw
 * HTML as text (chat needs none), then DOMPurify sanitises the result with a
 * short allow-list (no images, only http(s)/mailto links), and links open in a
 * new tab without an opener.
 */
import DOMPurify from 'dompurify'
import { Marked } from 'marked'

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const marked = new Marked({
  gfm: true,
  breaks: true,
  async: false,
  renderer: { html: ({ text }) => escapeHtml(text) },
})

const ALLOWED_TAGS = [
  'p',
  'br',
  'strong',
  'em',
  'del',
  's',
  'code',
  'pre',
  'blockquote',
  'ul',
  'ol',
  'li',
  'a',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
]
const ALLOWED_ATTR = ['href', 'title', 'target', 'rel']

let hooked = false
function purifier() {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank')
        node.setAttribute('rel', 'noopener noreferrer')
      }
    })
    hooked = true
  }
  return DOMPurify
}

const SANITIZE = {
  ALLOWED_TAGS,
  ALLOWED_ATTR,
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#|\/)/i,
}

export function renderMarkdown(body: string): string {
  return purifier().sanitize(marked.parse(body) as string, SANITIZE)
}

/** Who a message's `@name`s may mean, by username (lower-case, as stored). */
export interface MentionNames {
  /** The reader: a mention of them is marked as such. */
  me?: string
  /** Other people the reader could mean (the room's members, its authors). */
  known: ReadonlySet<string>
}

/** An `@` where a mention can start: not inside a word or an e-mail address. */
const MENTION_AT = String.raw`(?<![\w@./-])@`
const NAME_CHAR = '[a-zA-Z0-9_.-]' // USERNAME_PATTERN's
/** `@name` in a body; a '.' or '-' at its end ends the sentence, not the name. */
const MENTION = new RegExp(`${MENTION_AT}(${NAME_CHAR}+)`, 'g')
/** A mention being typed: the text before the caret ends with `@` and the start of a name. */
export const MENTION_BEING_TYPED = new RegExp(`${MENTION_AT}(${NAME_CHAR}*)$`)

/**
 * A message body as HTML, its `@name`s of people in `names` marked (not those
 * in code or links: `@decorators`, addresses), and whether it mentions the
 * reader. The marks are added after sanitising, as elements made here around
 * the body's own text.
 */
export function renderMessage(
  body: string,
  names: MentionNames,
): { html: string; mentionsMe: boolean } {
  if (!body.includes('@')) return { html: renderMarkdown(body), mentionsMe: false }
  const fragment = purifier().sanitize(marked.parse(body) as string, {
    ...SANITIZE,
    RETURN_DOM_FRAGMENT: true,
  })
  let mentionsMe = false
  const walker = document.createTreeWalker(fragment, NodeFilter.SHOW_TEXT)
  const texts: Text[] = []
  while (walker.nextNode()) texts.push(walker.currentNode as Text)
  for (const text of texts) {
    if (text.parentElement?.closest('code, pre, a')) continue
    const parts: (string | HTMLElement)[] = []
    let from = 0
    for (const match of text.data.matchAll(MENTION)) {
      const name = match[1]!.replace(/[.-]+$/, '')
      const username = name.toLowerCase()
      const isMe = username === names.me
      if (!isMe && !names.known.has(username)) continue
      mentionsMe ||= isMe
      const mark = document.createElement('span')
      mark.className = isMe ? 'mention mention-me' : 'mention'
      mark.textContent = `@${name}`
      parts.push(text.data.slice(from, match.index), mark)
      from = match.index + 1 + name.length
    }
    if (!parts.length) continue
    parts.push(text.data.slice(from))
    text.replaceWith(...parts.filter((part) => part !== ''))
  }
  const box = document.createElement('div')
  box.append(fragment)
  return { html: box.innerHTML, mentionsMe }
}

/** A body as one line of plain text: what a screen reader is told of a new message. */
export function markdownText(body: string): string {
  // A space after each block and line break, or "<p>a</p><p>b</p>" reads as "ab".
  const html = renderMarkdown(body).replace(/<\/(?:p|li|h\d|pre|blockquote|td|th)>|<br>/g, '$& ')
  const text = new DOMParser().parseFromString(html, 'text/html').body.textContent ?? ''
  return text.replace(/\s+/g, ' ').trim()
}

/** At most this many emoji, and nothing else, make a message that shows them large. */
const JUMBO_EMOJI_MAX = 3
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
/** A character shown as a picture: emoji presentation, or asked for it (VS16), or a flag's half. */
const PICTURE = /\p{Emoji_Presentation}|\uFE0F|\p{Regional_Indicator}/u
/** 1️⃣, #️⃣: a digit or sign made a picture, the one place a digit may be in one. */
const KEYCAP = /^[\d#*]\uFE0F?\u20E3$/u

/**
 * A body of one to three emoji and nothing else (spaces aside), which chat
 * apps show large: "🎉", "👍🏽", "❤️", "👨‍👩‍👧" and "🇫🇷" each count as one. Words, digits,
 * markdown or a fourth emoji keep it text-sized.
 */
export function emojiOnly(body: string): boolean {
  const chars = [...graphemes.segment(body.replace(/\s+/g, ''))].map((g) => g.segment)
  return (
    chars.length > 0 &&
    chars.length <= JUMBO_EMOJI_MAX &&
    chars.every((c) => KEYCAP.test(c) || (PICTURE.test(c) && !/[\p{L}\p{N}]/u.test(c)))
  )
}
