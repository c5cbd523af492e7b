/** Minimal structured logger (pino-compatible) the bus reports through. */
export interface BusLogger {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
