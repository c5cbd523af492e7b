/**
 * Calls `fn` each time the page may be about to end: as it is hidden (a phone
 * may end a backgrounded app, or discard its tab, without another word) and as
 * it goes (a reload, a link followed, the tab closed). Returns the unsubscribe.
 */
export function onPageMayEnd(fn: () => void): () => void {
  const onVisibility = () => {
    if (document.visibilityState === 'hidden') fn()
  }
  document.addEventListener('visibilitychange', onVisibility)
  window.addEventListener('pagehide', fn)
  return () => {
    document.removeEventListener('visibilitychange', onVisibility)
    window.removeEventListener('pagehide', fn)
  }
}
