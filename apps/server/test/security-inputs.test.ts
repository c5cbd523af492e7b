/**
 * Input hardening, checked on the router itself so a new procedure cannot
 * slip through: every input is a strict object (unknown keys rejected), every
 * string is length-bounded, and ids are validated before they reach MongoDB.
 */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { clientIp, ipLimitKey } from '@parley/api'
import { Emoji, Id, MessageBody } from '@parley/schemas'
import { startTestServer } from './factory.ts'
import { routerProcedures } from './helpers.ts'

interface ZodLike {
  _zod: { def: { type: string; [k: string]: unknown } }
}

/** Problems found in one schema, as readable paths. */
function audit(schema: ZodLike, at: string): string[] {
  const def = schema._zod.def
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
      return audit(def.innerType as ZodLike, at)
    case 'pipe':
      return [...audit(def.in as ZodLike, at), ...((def.out as ZodLike)._zod.def.type === 'transform' ? [] : audit(def.out as ZodLike, at))]
    case 'object': {
      const catchall = def.catchall as ZodLike | undefined
      const problems = catchall?._zod.def.type === 'never' ? [] : [`${at}: object is not strict`]
      for (const [key, value] of Object.entries(def.shape as Record<string, ZodLike>)) problems.push(...audit(value, `${at}.${key}`))
      return problems
    }
    case 'string': {
      const checks = ((def.checks ?? []) as ZodLike[]).map((c) => c._zod.def as unknown as { check: string; format?: string; pattern?: RegExp })
      const bounded = checks.some((c) => c.check === 'max_length' || (c.check === 'string_format' && c.format === 'regex' && /\{\d+(,\d+)?\}\$$/.test(c.pattern?.source ?? '')))
      return bounded ? [] : [`${at}: unbounded string`]
    }
    case 'number':
    case 'boolean':
    case 'enum':
    case 'literal':
      return []
    default:
      return [`${at}: unexpected schema type ${def.type}`]
  }
}

describe('procedure inputs', () => {
  it('are strict objects with bounded strings, for every procedure that takes input', () => {
    const problems: string[] = []
    let checked = 0
    for (const [path, proc] of routerProcedures()) {
      for (const input of proc._def.inputs as unknown as ZodLike[]) {
        checked++
        problems.push(...audit(input, path))
      }
    }
    expect(checked).toBeGreaterThan(15)
    expect(problems).toEqual([])
    // …and the audit does catch what it looks for.
    expect(audit(z.object({ a: z.string() }) as unknown as ZodLike, 'x')).toEqual(['x: object is not strict', 'x.a: unbounded string'])
  })

  it('reject ids that are not 24 hex characters, and emoji that would be unsafe map keys', () => {
    for (const bad of [{ $ne: null }, '0'.repeat(23), 'g'.repeat(24), '0'.repeat(25), 42, ['0'.repeat(24)]]) expect(Id.safeParse(bad).success).toBe(false)
    expect(Id.safeParse('0123456789abcdef01234567').success).toBe(true)
    for (const bad of ['__proto__', 'constructor', 'a.b', '$set', ' ', 'x\u0000y']) expect(Emoji.safeParse(bad).success).toBe(false)
    expect(Emoji.safeParse('👍').success).toBe(true)
  })

  it('reject message bodies that would show as an empty bubble, invisible characters included', () => {
    for (const blank of ['', '   ', '\n\t', '\u200b', '\u200b\u200d \ufeff', '\u2800\u2800', '\u3164', '\u00ad', '\u2060']) {
      expect(MessageBody.safeParse(blank).success, JSON.stringify(blank)).toBe(false)
    }
    for (const fine of ['hi', ' a ', '👍', '\u200bx', '👨\u200d👩\u200d👧', 'ㅤ한']) expect(MessageBody.safeParse(fine).success, fine).toBe(true)
  })

  it('refuse operator objects, unknown keys and missing fields over the wire with BAD_REQUEST', async () => {
    await using server = await startTestServer({ LOGIN_RATE_LIMIT_IP: '1000' })
    const u = await server.signUp()
    const roomId = (await u.trpc.rooms.create.mutate({ name: 'inputs', visibility: 'public' })).id
    const post = (path: string, input: unknown) =>
      fetch(`${server.url}/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: u.jar.cookie! }, body: JSON.stringify(input) })
    const cases: [string, unknown][] = [
      ['auth.login', { username: { $gt: '' }, password: { $gt: '' } }],
      ['auth.login', { username: 'someone', password: 'password1', $where: '1' }],
      ['rooms.join', { roomId: { $ne: null } }],
      ['messages.send', { roomId, clientId: 'x', body: 'hi', author: { id: 'forged' } }],
      ['messages.react', { messageId: '0'.repeat(24), emoji: '__proto__', on: true }],
      ['rooms.kick', { roomId, userId: { $exists: true } }],
      ['rooms.create', { name: 'no visibility given' }],
    ]
    for (const [path, input] of cases) {
      const res = await post(path, input)
      expect(res.status, `${path} ${JSON.stringify(input)}`).toBe(400)
    }
    const list = await u.trpc.messages.list.query({ roomId })
    expect(list.messages).toHaveLength(0)
    expect((await u.trpc.rooms.list.query()).map((r) => r.name)).toEqual(['inputs'])
  })
})

describe('client IP behind a proxy', () => {
  it('is the X-Forwarded-For entry the trusted proxy appended, not one the client forged; ignored without TRUST_PROXY', () => {
    const req = (xff: string) => ({ headers: { 'x-forwarded-for': xff }, socket: { remoteAddress: '10.0.0.2' } }) as never
    expect(clientIp(req('6.6.6.6, 203.0.113.9'), true)).toBe('203.0.113.9')
    expect(clientIp(req('203.0.113.9'), true)).toBe('203.0.113.9')
    expect(clientIp(req('6.6.6.6, 203.0.113.9'), false)).toBe('10.0.0.2')
  })

  it('counts an IPv6 client by its /64 for per-address limits: it can take a fresh address for every request', () => {
    const key = ipLimitKey('2001:db8:abcd:12:1111:2222:3333:4444')
    expect(key).toBe('2001:db8:abcd:12::/64')
    for (const same of ['2001:db8:abcd:12::1', '2001:0db8:abcd:0012:ffff::', '2001:db8:abcd:12:0:0:1.2.3.4', '2001:db8:abcd:12::9%eth0']) expect(ipLimitKey(same), same).toBe(key)
    for (const other of ['2001:db8:abcd:13::1', '2001:db8::12:0:0:0:1', '::1']) expect(ipLimitKey(other), other).not.toBe(key)
    expect(ipLimitKey('::1')).toBe('0:0:0:0::/64')
    expect(ipLimitKey('203.0.113.9')).toBe('203.0.113.9')
    expect(ipLimitKey('::ffff:203.0.113.9')).toBe('203.0.113.9')
  })

  it('sign-ups from fresh addresses of one IPv6 /64 share REGISTER_RATE_LIMIT_IP; another /64 is not held up', async () => {
    await using server = await startTestServer({ TRUST_PROXY: 'true', REGISTER_RATE_LIMIT_IP: '2' })
    const from = (ip: string) => server.client({ headers: { 'x-forwarded-for': ip } })
    const register = (ip: string) =>
      from(ip)
        .trpc.auth.register.mutate({ username: `v6_${Math.random().toString(36).slice(2, 10)}`, password: 'correct horse battery' })
        .then(
          () => 'ok',
          (e: unknown) => (e as { data?: { code?: string } }).data?.code,
        )
    expect(await register('2001:db8:abcd:12::1')).toBe('ok')
    expect(await register('2001:db8:abcd:12::2')).toBe('ok')
    expect(await register('2001:db8:abcd:12:ffff:1:2:3')).toBe('TOO_MANY_REQUESTS')
    expect(await register('2001:db8:abcd:13::1')).toBe('ok')
  })
})
