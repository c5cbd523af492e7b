import { TRPCClientError } from '@trpc/client'

interface ErrorData {
  code?: string
  httpStatus?: number
  retryAfterMs?: number
  zodError?: { formErrors?: string[]; fieldErrors?: Record<string, string[] | undefined> } | null
}

function dataOf(err: unknown): ErrorData | undefined {
  if (!(err instanceof TRPCClientError)) return undefined
  return (err.data ?? undefined) as ErrorData | undefined
}

/** The tRPC error code (`BAD_REQUEST`, …), or undefined when the server never answered. */
export function errorCode(err: unknown): string | undefined {
  return dataOf(err)?.code
}

/** No answer from the server at all: offline, DNS, socket closed, 502 from a proxy. */
export function isNetworkError(err: unknown): boolean {
  if (err instanceof TRPCClientError) return !dataOf(err)?.code
  return err instanceof TypeError
}

/** Worth trying again later without the user doing anything. */
export function isTransientError(err: unknown): boolean {
  const code = errorCode(err)
  return (
    isNetworkError(err) ||
    code === 'TOO_MANY_REQUESTS' ||
    code === 'INTERNAL_SERVER_ERROR' ||
    code === 'UNAUTHORIZED' ||
    code === 'TIMEOUT'
  )
}

/** A failure that says nothing about whether the server took the request (it may have, and then failed or timed out). */
export function outcomeUnknown(err: unknown): boolean {
  const code = errorCode(err)
  return isNetworkError(err) || code === 'INTERNAL_SERVER_ERROR' || code === 'TIMEOUT'
}

/** How long a rate-limited caller should wait (TOO_MANY_REQUESTS' `data.retryAfterMs`), if the server said. */
export function retryAfterMs(err: unknown): number | undefined {
  const ms = dataOf(err)?.retryAfterMs
  return typeof ms === 'number' && ms > 0 ? ms : undefined
}

/** The input fields the server rejected (its zod issues' field names); empty when none. */
export function invalidFields(err: unknown): string[] {
  const fields = dataOf(err)?.zodError?.fieldErrors ?? {}
  return Object.keys(fields).filter((name) => fields[name]?.length)
}

/** A sentence for the UI: zod field errors first, then the server's message. */
export function errorMessage(err: unknown): string {
  if (isNetworkError(err)) return 'Cannot reach the server. Check your connection.'
  const zod = dataOf(err)?.zodError
  if (zod) {
    const field = Object.entries(zod.fieldErrors ?? {}).find(([, v]) => v && v.length)
    if (field) return `${field[0]}: ${field[1]?.[0]}`
    if (zod.formErrors?.length) return zod.formErrors[0] ?? 'Invalid input'
  }
  return err instanceof Error ? err.message : 'Something went wrong'
}
