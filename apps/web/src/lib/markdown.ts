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

export function renderMarkdown(body: string): string {
  const html = marked.parse(body) as string
  return purifier().sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#|\/)/i,
  })
}

/** A body as one line of plain text: what a screen reader is told of a new message. */
export function markdownText(body: string): string {
  // A space after each block and line break, or "<p>a</p><p>b</p>" reads as "ab".
  const html = renderMarkdown(body).replace(/<\/(?:p|li|h\d|pre|blockquote|td|th)>|<br>/g, '$& ')
  const text = new DOMParser().parseFromString(html, 'text/html').body.textContent ?? ''
  return text.replace(/\s+/g, ' ').trim()
}
