// Errors carrying MongoDB's error codes. A CommandError thrown anywhere inside a
// command handler becomes an `{ ok: 0, errmsg, code, codeName }` reply, which the
// driver turns into its normal MongoServerError.

export const Codes = {
  InternalError: 1,
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  CursorNotFound: 43,
  NamespaceExists: 48,
  DollarPrefixedFieldName: 52,
  CommandNotFound: 59,
  ImmutableField: 66,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  OperationNotSupportedInTransaction: 263,
  DuplicateKey: 11000,
} as const

const codeNames = new Map<number, string>(Object.entries(Codes).map(([name, code]) => [code, name]))

export class CommandError extends Error {
  readonly code: number
  /** Extra fields copied into the error reply / write error (e.g. keyPattern, keyValue). */
  readonly extra: Record<string, unknown>

  constructor(code: number, message: string, extra: Record<string, unknown> = {}) {
    super(message)
    this.code = code
    this.extra = extra
  }

  get codeName(): string {
    return codeNames.get(this.code) ?? 'UnknownError'
  }
}

export function badValue(message: string): CommandError {
  return new CommandError(Codes.BadValue, message)
}

/** Turns anything thrown by a handler (ours, mingo's, or a bug) into a CommandError. */
export function toCommandError(err: unknown): CommandError {
  if (err instanceof CommandError) return err
  if (err instanceof Error) {
    // mingo reports malformed queries/pipelines (unknown operator, bad argument) via plain errors.
    return new CommandError(Codes.BadValue, err.message)
  }
  return new CommandError(Codes.InternalError, String(err))
}

/** Reply document for a failed command. */
export function errorReply(err: CommandError): Record<string, unknown> {
  return { ok: 0, errmsg: err.message, code: err.code, codeName: err.codeName, ...err.extra }
}
