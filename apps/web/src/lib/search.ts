/** A run of a search result's text, and whether it is what was searched for. */
export interface TextPart {
  text: string
  match: boolean
}

/**
 * A message's text as a search result shows it: one line, at most `max`
 * characters, starting a little before the first match when the match is
 * further in (so it is in sight), cut into runs with each occurrence of
 * `query` (any case) marked. Plain text, for the template to draw: nothing
 * of it is HTML.
 */
export function searchParts(body: string, query: string, max = 240): TextPart[] {
  const text = body.replace(/\s+/g, ' ').trim()
  const needle = query.trim().toLowerCase()
  const lower = text.toLowerCase()
  // Lower-casing keeps lengths for the text people write; if it did not, show the start unmarked.
  if (!needle || lower.length !== text.length)
    return [{ text: text.length > max ? `${text.slice(0, max)}…` : text, match: false }]
  const first = lower.indexOf(needle)
  // A few words before the match, from the start of a word.
  const from = first > max / 3 ? first - Math.floor(max / 6) : 0
  const space = text.indexOf(' ', from)
  const start = from > 0 && space !== -1 && space < first ? space + 1 : from
  const end = Math.min(text.length, start + max)
  const parts: TextPart[] = []
  const push = (from: number, to: number, match: boolean) => {
    if (to > from) parts.push({ text: text.slice(from, to), match })
  }
  let at = start
  for (
    let hit = lower.indexOf(needle, at);
    hit !== -1 && hit < end;
    hit = lower.indexOf(needle, at)
  ) {
    push(at, hit, false)
    push(hit, Math.min(hit + needle.length, end), true)
    at = hit + needle.length
  }
  push(Math.min(at, end), end, false)
  if (start > 0) parts.unshift({ text: '…', match: false })
  if (end < text.length) parts.push({ text: '…', match: false })
  return parts
}

/**
 * A search of the messages this device holds for a room (offline): as the
 * server's, the text as it is now in any case, taken literally, deleted
 * messages never found; newest first. `searched`: how many messages it read.
 */
export function searchHeld<M extends { body: string; deleted: boolean }>(
  messages: readonly M[],
  query: string,
): { found: M[]; searched: number } {
  const needle = query.trim().toLowerCase()
  const live = messages.filter((m) => !m.deleted)
  const found = needle ? live.filter((m) => m.body.toLowerCase().includes(needle)) : []
  return { found: found.reverse(), searched: live.length }
}
