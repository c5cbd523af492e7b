import type { Member, Role } from '@parley/schemas'
import { mayKick, maySetRole } from '@parley/schemas/roles'

export interface MemberActions {
  /** The role a "make/remove admin" button would set. */
  setRole: 'admin' | 'member' | null
  /** Whether "remove from room" is allowed. */
  kick: boolean
}

/**
 * What the viewer may do to a member: the server's rules (mayKick,
 * maySetRole), never on themselves, and nothing in a direct room (two
 * people, no ranks).
 */
export function memberActions(
  myRole: Role | null,
  target: Member,
  meId: string | undefined,
  direct = false,
): MemberActions {
  if (!myRole || direct || target.user.id === meId) return { setRole: null, kick: false }
  return {
    setRole: maySetRole(myRole, target.role) ? (target.role === 'admin' ? 'member' : 'admin') : null,
    kick: mayKick(myRole, target.role),
  }
}
