import { describe, expect, it } from 'vitest'
import type { Member, Role } from '@parley/schemas'
import { memberActions } from './moderation.ts'

const member = (id: string, role: Role): Member => ({ user: { id, username: id, displayName: id }, role, online: true })

describe('memberActions', () => {
  it('lets the owner promote, demote and remove anyone but themselves', () => {
    expect(memberActions('owner', member('m', 'member'), 'o')).toEqual({ setRole: 'admin', kick: true })
    expect(memberActions('owner', member('a', 'admin'), 'o')).toEqual({ setRole: 'member', kick: true })
    expect(memberActions('owner', member('o', 'owner'), 'o')).toEqual({ setRole: null, kick: false })
  })

  it('lets an admin remove plain members only, and change no roles', () => {
    expect(memberActions('admin', member('m', 'member'), 'a')).toEqual({ setRole: null, kick: true })
    expect(memberActions('admin', member('b', 'admin'), 'a')).toEqual({ setRole: null, kick: false })
    expect(memberActions('admin', member('o', 'owner'), 'a')).toEqual({ setRole: null, kick: false })
    expect(memberActions('admin', member('a', 'admin'), 'a')).toEqual({ setRole: null, kick: false })
  })

  it('offers nothing in a direct room, whoever started it', () => {
    expect(memberActions('owner', member('m', 'member'), 'o', true)).toEqual({ setRole: null, kick: false })
  })

  it('gives members and visitors nothing to do', () => {
    expect(memberActions('member', member('x', 'member'), 'm')).toEqual({ setRole: null, kick: false })
    expect(memberActions(null, member('x', 'member'), 'v')).toEqual({ setRole: null, kick: false })
  })
})
