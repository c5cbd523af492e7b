/**
 * Web storage that never throws: disabled storage (a private window, a
 * policy) or a full one costs what it would keep, never the caller's work.
 * localStorage unless told otherwise; sessionStorage keeps a mark per tab.
 */
type Area = 'localStorage' | 'sessionStorage'

export function readLocal(key: string, area: Area = 'localStorage'): string | null {
  try {
    return window[area].getItem(key)
  } catch {
    return null
  }
}

export function writeLocal(key: string, value: string, area: Area = 'localStorage'): void {
  try {
    window[area].setItem(key, value)
  } catch {
    /* disabled or full: kept as long as the page is open, at most */
  }
}

/** The localStorage keys that start with `prefix`. */
export function localKeys(prefix: string): string[] {
  try {
    return Object.keys(localStorage).filter((k) => k.startsWith(prefix))
  } catch {
    return []
  }
}

export function removeLocal(key: string, area: Area = 'localStorage'): void {
  try {
    window[area].removeItem(key)
  } catch {
    /* nothing stored to remove */
  }
}
