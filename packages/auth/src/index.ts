/**
 * Accounts and sessions, following Lucia's session model with @oslojs:
 * `id.secret` tokens (only the secret's SHA-256 is stored), idle and absolute
 * expiry, Argon2id passwords, cookie helpers and login rate limits.
 */
export * from './types.ts'
export { AUTH_DEFAULTS, createAuth, userChannel, INVALID_CREDENTIALS, PROFILES_CHANNEL, USERNAME_TAKEN, WRONG_PASSWORD } from './auth.ts'
export type {
  AuthBus,
  AuthInstance,
  AuthLogger,
  CreateAuthOptions,
  LoginLimits,
  ProfileNotice,
  ProfileUpdatedMessage,
  SessionRevokedMessage,
} from './auth.ts'
export { COOKIE_NAME, SECURE_COOKIE_NAME, cookieName } from './cookie.ts'
export { OWASP_MIN_PARAMS, type HashParams } from './password.ts'
export {
  generateSessionToken,
  parseSessionToken,
  SESSION_ID_BYTES,
  SESSION_SECRET_BYTES,
} from './token.ts'
