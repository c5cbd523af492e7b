import type { Role } from './inputs.ts'

/**
 * Who may moderate whom in a room: the server enforces these (rooms.kick,
 * rooms.setRole) and the PWA offers only what they allow. Type-only imports:
 * the browser bundle gets no zod from here.
 */

/**
 * Whether a role moderates its room — deletes others' messages, invites to a
 * private room: the owner and admins, and nobody in a direct conversation
 * (two equals; ones opened before that rule still list an owner).
 */
export function moderates(role: Role, direct: boolean): boolean {
  return !direct && (role === 'owner' || role === 'admin')
}

/** rooms.kick: the owner removes anyone but the owner; an admin, plain members only. */
export function mayKick(actor: Role, target: Role): boolean {
  if (target === 'owner') return false
  return actor === 'owner' || (actor === 'admin' && target === 'member')
}

/** rooms.setRole: only the owner changes roles, and the owner keeps theirs. */
export function maySetRole(actor: Role, target: Role): boolean {
  return actor === 'owner' && target !== 'owner'
}
