/**
 * The sign-in/sign-up form's checks, in the words shown under each field.
 * The rules are the server's (LIMITS, USERNAME_PATTERN from @parley/schemas):
 * checking them first saves a round trip, and the server stays the judge.
 */
import { LIMITS, USERNAME_PATTERN } from '@parley/schemas/limits'
import { errorCode, errorMessage, invalidFields } from './errors.ts'

export type AuthMode = 'signin' | 'signup'
export interface AuthValues {
  username: string
  password: string
  displayName: string
}
export type FieldErrors = Partial<Record<keyof AuthValues, string>>

const usernameRe = new RegExp(`^${USERNAME_PATTERN}$`)

/** What the server asks of each field it may reject on sign-up. */
const RULES = {
  username: `Use ${LIMITS.usernameMin}–${LIMITS.usernameMax} letters, digits, _ . or -`,
  password: `Passwords are ${LIMITS.passwordMin}–${LIMITS.passwordMax} characters`,
} as const

/** Under a field for a new password (sign-up, a password change), before anything is typed. */
export const NEW_PASSWORD_HINT = `At least ${LIMITS.passwordMin} characters`

/** What keeps a new password from being accepted, in plain words (null: nothing; the field's maxlength keeps the rest). */
export function newPasswordProblem(password: string): string | null {
  return password.length < LIMITS.passwordMin
    ? `Use at least ${LIMITS.passwordMin} characters`
    : null
}

/**
 * A username as typed to find someone (an invite, a direct message): the app
 * shows names as "@name", so a leading @ (and spaces around) are not part of it.
 */
export function typedUsername(raw: string): string {
  return raw.trim().replace(/^@/, '')
}

/** What keeps `username` from being anyone's username, in plain words (null: nothing). */
export function usernameProblem(username: string): string | null {
  const fits = username.length >= LIMITS.usernameMin && username.length <= LIMITS.usernameMax
  return fits && usernameRe.test(username) ? null : RULES.username
}

/** The server refused the username field itself (zod): its rule, in the same words. */
export function serverUsernameProblem(err: unknown): string | null {
  return invalidFields(err).includes('username') ? RULES.username : null
}

/**
 * Problems found before sending, by field. Maximum lengths are left to the
 * inputs' `maxlength`; sign-in only asks for something in each field (the
 * server answers the rest without telling which part was wrong).
 */
export function checkFields(mode: AuthMode, values: AuthValues): FieldErrors {
  const errors: FieldErrors = {}
  const signup = mode === 'signup'
  const username = values.username.trim()
  if (!username) errors.username = signup ? 'Choose a username' : 'Enter your username'
  else if (signup && usernameProblem(username)) errors.username = RULES.username
  const passwordProblem = signup ? newPasswordProblem(values.password) : null
  if (!values.password) errors.password = signup ? 'Choose a password' : 'Enter your password'
  else if (passwordProblem) errors.password = passwordProblem
  return errors
}

/**
 * auth.register's refusal as errors under fields, or null when it is about
 * the form as a whole (offline, rate limited; every sign-in refusal) or names
 * a field this form has no words for.
 */
export function serverFieldErrors(mode: AuthMode, err: unknown): FieldErrors | null {
  if (mode !== 'signup') return null
  // The only conflict auth.register reports; its message is already plain ("That username is taken").
  if (errorCode(err) === 'CONFLICT') return { username: errorMessage(err) }
  const fields = invalidFields(err)
  if (!fields.length || !fields.every((f): f is keyof typeof RULES => f in RULES)) return null
  return Object.fromEntries(fields.map((f) => [f, RULES[f]]))
}
