import type { Member, Role } from '@parley/schemas'

export interface MemberActions {
  /** The role a "make/remove admin" button would set (owners only). */
  setRole: 'admin' | 'member' | null
  /** Whether "remove from room" is allowed. */
  kick: boolean
}

/**
 * What the viewer may do to a member, by the server's rules (rooms.kick,
 * rooms.setRole): the owner manages everyone but themselves; an admin may
 * remove plain members; nobody acts on the owner or on themselves.
 */
export function memberActions(myRole: Role | null, target: Member, meId: string | undefined): MemberActions {
  const none = { setRole: null, kick: false }
  if (!myRole || target.user.id === meId || target.role === 'owner') return none
  if (myRole === 'owner') return { setRole: target.role === 'admin' ? 'member' : 'admin', kick: true }
  if (myRole === 'admin') return { setRole: null, kick: target.role === 'member' }
  return none
}
