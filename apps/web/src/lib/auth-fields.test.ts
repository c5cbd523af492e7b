import { TRPCClientError } from '@trpc/client'
import { describe, expect, it } from 'vitest'
import {
  checkFields,
  serverFieldErrors,
  serverUsernameProblem,
  typedUsername,
  usernameProblem,
} from './auth-fields.ts'

const values = (username: string, password: string) => ({ username, password, displayName: '' })

/** A tRPC error as the server sends it (its errorFormatter's `data`). */
const serverError = (code: string, message: string, fieldErrors?: Record<string, string[]>) =>
  new TRPCClientError(message, {
    result: {
      error: {
        message,
        code: -32600,
        data: { code, httpStatus: 400, zodError: fieldErrors ? { formErrors: [], fieldErrors } : null },
      },
    },
  })

describe('checkFields', () => {
  it('holds sign-up to the server’s rules, in plain words', () => {
    expect(checkFields('signup', values('', ''))).toEqual({
      username: 'Choose a username',
      password: 'Choose a password',
    })
    expect(checkFields('signup', values('ab', 'short'))).toEqual({
      username: 'Use 3–32 letters, digits, _ . or -',
      password: 'Use at least 8 characters',
    })
    expect(checkFields('signup', values('ann lee', 'long enough')).username).toBe('Use 3–32 letters, digits, _ . or -')
    expect(checkFields('signup', values('  ann.lee-2_x ', '12345678'))).toEqual({})
  })

  it('only asks for something in each field at sign-in', () => {
    expect(checkFields('signin', values(' ', ''))).toEqual({
      username: 'Enter your username',
      password: 'Enter your password',
    })
    expect(checkFields('signin', values('ab', 'x'))).toEqual({})
  })
})

describe('serverFieldErrors', () => {
  it('puts a taken username and rejected inputs under their fields', () => {
    expect(serverFieldErrors('signup', serverError('CONFLICT', 'That username is taken'))).toEqual({
      username: 'That username is taken',
    })
    const tooShort = serverError('BAD_REQUEST', 'Invalid input', {
      password: ['Too small: expected string to have >=8 characters'],
    })
    expect(serverFieldErrors('signup', tooShort)).toEqual({ password: 'Passwords are 8–256 characters' })
  })

  it('leaves wrong credentials, the network and unknown fields to the form’s message', () => {
    expect(serverFieldErrors('signin', serverError('UNAUTHORIZED', 'Invalid username or password'))).toBeNull()
    expect(serverFieldErrors('signup', new TRPCClientError('fetch failed'))).toBeNull()
    expect(serverFieldErrors('signup', serverError('BAD_REQUEST', 'x', { extra: ['Unrecognized key'] }))).toBeNull()
  })
})

describe('a username typed to find someone (invite, direct message)', () => {
  it('is the name without a leading @ or spaces around', () => {
    expect(typedUsername('  @bob ')).toBe('bob')
    expect(typedUsername('bob')).toBe('bob')
    expect(typedUsername('@')).toBe('')
  })

  it('is checked by the sign-up rules, in their words', () => {
    const rule = 'Use 3–32 letters, digits, _ . or -'
    expect(usernameProblem('bob')).toBeNull()
    expect(usernameProblem('')).toBe(rule)
    expect(usernameProblem('ab')).toBe(rule)
    expect(usernameProblem('bo b')).toBe(rule)
    expect(usernameProblem('@bob')).toBe(rule)
    expect(usernameProblem('b'.repeat(33))).toBe(rule)
    expect(
      serverUsernameProblem(serverError('BAD_REQUEST', 'x', { username: ['Too small'] })),
    ).toBe(rule)
    expect(serverUsernameProblem(serverError('NOT_FOUND', 'No such user'))).toBeNull()
  })
})
