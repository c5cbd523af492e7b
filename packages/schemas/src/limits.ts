/** Size limits both the server and the web app enforce (the server is authoritative). */
export const LIMITS = {
  usernameMin: 3,
  usernameMax: 32,
  passwordMin: 8,
  passwordMax: 256,
  displayNameMax: 64,
  roomNameMax: 64,
  roomTopicMax: 256,
  messageBodyMax: 4000,
  clientIdMax: 64,
  emojiMax: 32,
  /** Different emoji on one message: each reaction event carries the message's whole list to every member. */
  reactionsPerMessageMax: 20,
  searchQueryMax: 64,
  /** messages.search: results a page at most (and by default 20). */
  searchPageMax: 50,
  pageSizeMax: 100,
  pageSizeDefault: 50,
} as const

/**
 * What a username is made of, as a RegExp source. Here, not in inputs.ts, so
 * the web app can check a name before sending it without bundling zod.
 */
export const USERNAME_PATTERN = '[a-zA-Z0-9_.-]+'

/** Characters that draw nothing: spaces, zero-width and other default-ignorable ones, the blank Braille pattern and Hangul fillers. */
const INVISIBLE = /[\s\p{Default_Ignorable_Code_Point}\u2800]/gu

/** A message body that would show as an empty bubble. Here, like USERNAME_PATTERN, so the composer can tell without zod. */
export function isBlankMessage(body: string): boolean {
  return body.replace(INVISIBLE, '').length === 0
}
