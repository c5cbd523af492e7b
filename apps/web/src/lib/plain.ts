/** A plain, proxy-free copy of wire data (IndexedDB cannot clone Vue proxies). */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}
