/** `s` matched literally. A NUL goes as `\x00`: MongoDB refuses a pattern holding the byte itself. */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('\0', '\\x00')
}

/** A filter for text that contains what the user typed, in any case (room names, message bodies). */
export function containing(typed: string) {
  return { $regex: escapeRegex(typed), $options: 'i' }
}
