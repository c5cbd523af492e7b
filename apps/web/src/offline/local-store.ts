/**
 * localStorage that never throws: disabled storage (a private window, a
 * policy) or a full one costs what it would keep, never the caller's work.
 */
export function readLocal(key: string): string | null {
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}

export function writeLocal(key: string, value: string): void {
  try {
    localStorage.setItem(key, value)
  } catch {
    /* disabled or full: kept as long as the page is open, at most */
  }
}

export function removeLocal(key: string): void {
  try {
    localStorage.removeItem(key)
  } catch {
    /* nothing stored to remove */
  }
}
