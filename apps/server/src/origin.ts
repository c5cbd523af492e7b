import type { IncomingMessage } from 'node:http'

export type Refusal = { code: 'UNSUPPORTED_MEDIA_TYPE' | 'FORBIDDEN'; message: string }

/**
 * Cross-site protection for cookie-authenticated calls. Browsers always send
 * `Origin` on WebSocket upgrades and cross-site POSTs; non-browser clients
 * (bots, tests, load generators) send neither and carry no ambient cookies.
 */
export function createOriginPolicy(allowed: readonly string[]) {
  const allowedSet = new Set(allowed.map((o) => new URL(o).origin))

  function isAllowedOrigin(req: IncomingMessage, origin: string): boolean {
    if (allowedSet.has(origin)) return true
    // Same origin as the Host the request came to (a direct visit, or a proxy that keeps Host).
    try {
      return new URL(origin).host === req.headers.host
    } catch {
      return false
    }
  }

  return {
    /** WebSocket upgrades: the tRPC ws adapter does not check Origin, so we do. */
    allowsUpgrade(req: IncomingMessage): boolean {
      const origin = req.headers.origin
      return origin === undefined || isAllowedOrigin(req, origin)
    },
    /**
     * Non-GET HTTP calls: JSON only (a cross-site form can send multipart or
     * text/plain without a preflight), and not from a foreign site.
     */
    rejectsMutation(req: IncomingMessage): Refusal | null {
      const site = req.headers['sec-fetch-site']
      const origin = req.headers.origin
      const crossSite = site && site !== 'same-origin' && site !== 'none' ? !origin || !isAllowedOrigin(req, origin) : !!origin && !isAllowedOrigin(req, origin)
      if (crossSite) return { code: 'FORBIDDEN', message: 'Cross-site request refused' }
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
      if (type !== 'application/json') return { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' }
      return null
    },
  }
}
export type OriginPolicy = ReturnType<typeof createOriginPolicy>
