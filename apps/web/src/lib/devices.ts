// The first match wins, so order matters: Edge and Opera say Chrome too,
// Chrome says Safari, Android says Linux, iOS says "like Mac OS X".
const BROWSERS: [RegExp, string][] = [
  [/Edg(e|A|iOS)?\//, 'Edge'],
  [/OPR\/|Opera/, 'Opera'],
  [/Firefox\/|FxiOS\//, 'Firefox'],
  [/Chrome\/|CriOS\/|Chromium\//, 'Chrome'],
  [/Safari\//, 'Safari'],
]
const SYSTEMS: [RegExp, string][] = [
  [/Android/, 'Android'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Windows/, 'Windows'],
  [/CrOS/, 'ChromeOS'],
  [/Macintosh|Mac OS X/, 'macOS'],
  [/Linux/, 'Linux'],
]

const firstMatch = (table: [RegExp, string][], ua: string) =>
  table.find(([pattern]) => pattern.test(ua))?.[1]

/**
 * "Chrome on Android", from a User-Agent: enough for a person to tell their
 * devices apart in "Where you're signed in", no more (no versions, no model).
 */
export function deviceName(userAgent: string | null): string {
  const ua = userAgent ?? ''
  const browser = firstMatch(BROWSERS, ua)
  const system = firstMatch(SYSTEMS, ua)
  if (browser && system) return `${browser} on ${system}`
  return browser ?? system ?? 'An unknown device'
}
