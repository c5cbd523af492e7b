import { describe, expect, it } from 'vitest'
import { emojiOnly, markdownText, renderMarkdown, renderMessage } from './markdown.ts'

function dom(html: string): HTMLElement {
  const div = document.createElement('div')
  div.innerHTML = html
  return div
}

describe('renderMarkdown', () => {
  it('renders basic markdown', () => {
    const html = renderMarkdown('**bold** _em_ `code`\n\n- a\n- b')
    expect(html).toContain('<strong>bold</strong>')
    expect(html).toContain('<em>em</em>')
    expect(html).toContain('<code>code</code>')
    expect(dom(html).querySelectorAll('li')).toHaveLength(2)
  })

  it('never lets raw HTML through as elements: scripts, handlers, images, iframes, styles', () => {
    const src =
      'hi <script>alert(1)</script> <img src=x onerror="alert(2)"> <b onclick="x()">b</b>\n\n' +
      '<iframe src="https://evil.example"></iframe>\n\n<style>body{}</style>'
    const root = dom(renderMarkdown(src))
    expect(root.querySelectorAll('script, img, iframe, style, b')).toHaveLength(0)
    for (const el of root.querySelectorAll('*')) {
      expect([...el.attributes].filter((a) => a.name.startsWith('on'))).toEqual([])
    }
    // Shown as text instead, so nothing the sender typed disappears.
    expect(root.textContent).toContain('<script>alert(1)</script>')
  })

  it('drops javascript: and data: links', () => {
    for (const src of [
      '[x](javascript:alert(1))',
      '<a href="javascript:alert(1)">x</a>',
      '[x](data:text/html,hi)',
      '[x](JaVaScRiPt:alert(1))',
    ]) {
      const a = dom(renderMarkdown(src)).querySelector('a')
      expect(a?.getAttribute('href') ?? null, src).toBeNull()
    }
  })

  it('opens links in a new tab without an opener', () => {
    const a = dom(
      renderMarkdown('see [docs](https://example.com/x) and https://parley.dev'),
    ).querySelectorAll('a')
    expect(a).toHaveLength(2)
    for (const link of a) {
      expect(link.getAttribute('target')).toBe('_blank')
      expect(link.getAttribute('rel')).toBe('noopener noreferrer')
    }
    expect(a[0]?.getAttribute('href')).toBe('https://example.com/x')
  })

  it('drops markdown images (no remote loads from messages)', () => {
    const root = dom(renderMarkdown('![tracker](https://evil.example/pixel.png)'))
    expect(root.querySelector('img')).toBeNull()
  })
})

describe('markdownText', () => {
  it('reads markdown as one line of plain text, blocks apart, no markup or raw HTML', () => {
    expect(markdownText('**Ship it** at `5pm`\n\n- one\n- two')).toBe('Ship it at 5pm one two')
    expect(markdownText('a <b>tag</b> line\nbreak')).toBe('a <b>tag</b> line break')
  })
})

describe('renderMessage: mentions', () => {
  const names = { me: 'bob', known: new Set(['alice', 'carol.h']) }
  const marks = (body: string) => {
    const { html, mentionsMe } = renderMessage(body, names)
    const root = dom(html)
    return {
      mentionsMe,
      marked: [...root.querySelectorAll('.mention')].map((el) => ({
        text: el.textContent,
        me: el.classList.contains('mention-me'),
      })),
      text: root.textContent!.trim(),
    }
  }

  it('marks the @names of people in the room, the reader’s apart, and tells that the reader is meant', () => {
    expect(marks('@Bob and @alice, see @carol.h.')).toEqual({
      mentionsMe: true,
      marked: [
        { text: '@Bob', me: true },
        { text: '@alice', me: false },
        { text: '@carol.h', me: false },
      ],
      text: '@Bob and @alice, see @carol.h.',
    })
  })

  it('leaves unknown names, code, links and e-mail addresses as they are', () => {
    const out = marks(
      '@home `@bob` bob@example.com [@bob](https://x.test) **@alice**\n\n```\n@bob\n```',
    )
    expect(out.marked).toEqual([{ text: '@alice', me: false }])
    expect(out.mentionsMe).toBe(false)
  })

  it('keeps the sanitising: what is marked is the body’s own text', () => {
    const out = renderMessage('@bob <img src=x onerror=alert(1)>', names)
    const root = dom(out.html)
    expect(root.querySelectorAll('img')).toHaveLength(0)
    expect(root.textContent!.trim()).toBe('@bob <img src=x onerror=alert(1)>')
    expect(out.mentionsMe).toBe(true)
  })
})

describe('emojiOnly', () => {
  it('is one to three emoji and nothing else, each sequence (skin tone, ZWJ family, flag, keycap, VS16) counted once', () => {
    for (const body of ['🎉', ' 🎉🙌 ', '👍🏽', '❤️', '👨‍👩‍👧', '🇫🇷🇩🇪', '1️⃣', '🎉 🎉 🎉']) {
      expect(emojiOnly(body), body).toBe(true)
    }
  })

  it('is not words, digits, symbols shown as text, markdown or a fourth emoji', () => {
    for (const body of ['', '   ', 'nice 🎉', '🎉!', '123', '©', '❤', '**🎉**', '🎉🎉🎉🎉', ':)']) {
      expect(emojiOnly(body), body).toBe(false)
    }
  })
})
