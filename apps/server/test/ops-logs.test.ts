/**
 * Logs: one JSON line per HTTP request and per WebSocket open/close, with ids,
 * the node id and the user when known — and never a password, a session
 * token, a cookie or a message body, whatever the level.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import type { AppRouter } from '@parley/api'
import { collect, createClient } from '@parley/testing'
import { readEnv } from '../src/env.ts'
import { createLogger } from '../src/logger.ts'
import { startServer, type RunningServer } from '../src/server.ts'
import { logSink } from './helpers.ts'

const sink = logSink()
const { lines } = sink
let server: RunningServer

beforeAll(async () => {
  const env = readEnv({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    NODE_ID: 'log-node',
    LOG_LEVEL: 'trace',
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
    ...(process.env.MONGODB_URL ? { MONGODB_URL: process.env.MONGODB_URL } : {}),
  })
  server = await startServer(env, createLogger(env, sink.stream))
})
afterAll(() => server.stop())

describe('logs', () => {
  it('never contain the password, the session token, the cookie or a message body', async () => {
    const username = `logged_${randomBytes(4).toString('hex')}`
    const password = `pw-${randomBytes(12).toString('hex')}`
    const body = `secret body ${randomBytes(12).toString('hex')}`
    const wsBody = `ws body ${randomBytes(12).toString('hex')}`

    const c = createClient<AppRouter>(server.url)
    const { user } = await c.trpc.auth.register.mutate({ username, password })
    await c.trpc.auth.logout.mutate()
    await expect(c.trpc.auth.login.mutate({ username, password: `${password}-wrong` })).rejects.toThrow()
    await c.trpc.auth.login.mutate({ username, password })
    const token = c.jar.cookie!.split('=')[1]!
    expect(token.length).toBeGreaterThan(20)

    const room = await c.trpc.rooms.create.mutate({ name: 'logged room', visibility: 'public' })
    const watch = collect((h) => c.trpc.events.room.subscribe({ roomId: room.id }, h as never))
    await watch.started
    await c.trpc.messages.send.mutate({ roomId: room.id, clientId: 'c1', body })
    // A rejected send (too long) with the secret inside, and a send over a raw WebSocket with the token in connectionParams.
    await expect(c.trpc.messages.send.mutate({ roomId: room.id, clientId: 'c2', body: body.repeat(400) })).rejects.toThrow()
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/trpc?connectionParams=1`)
    await new Promise((r) => ws.once('open', r))
    ws.send(JSON.stringify({ method: 'connectionParams', data: { token } }))
    ws.send(JSON.stringify({ id: 1, method: 'mutation', params: { path: 'messages.send', input: { roomId: room.id, clientId: 'c3', body: wsBody } } }))
    await new Promise((r) => ws.once('message', r))
    ws.close()
    await watch.until((items) => items.length >= 2)
    watch.stop()
    await c.close()
    // The last lines this test causes: its two sockets' closes (the raw one's and the subscription's). Lines are
    // written in order, so everything logged before them is in; a moment more for anything logged late.
    await vi.waitFor(() => expect(lines.filter((l) => l.msg === 'ws close' && l.userId === user.id)).toHaveLength(2), { timeout: 5_000 })
    await sleep(100)

    const all = sink.text.join('\n')
    expect(all.length).toBeGreaterThan(0)
    for (const secret of [password, token, body, wsBody]) expect(all).not.toContain(secret)
    expect(all).not.toMatch(/"cookie"\s*:\s*"[^[]/i)
  })

  it('redact secrets even when a caller passes them to the logger by mistake', () => {
    const out = logSink()
    const log = createLogger({ LOG_LEVEL: 'info', NODE_ID: 'n', NODE_ENV: 'production' }, out.stream)
    log.info({ password: 'p4ss', token: 't0k', body: 'b0dy', headers: { cookie: 'c00kie', authorization: 'Bearer x' }, input: { body: 'b0dy2' }, user: { password: 'p5' } }, 'oops')
    const text = out.text.join('\n')
    for (const secret of ['p4ss', 't0k', 'b0dy', 'c00kie', 'Bearer', 'b0dy2', 'p5']) expect(text).not.toContain(secret)
    expect(text).toContain('[redacted]')
  })

  it('log a failed database write by its kind, message and code, not the document it carried', async () => {
    const text = `private words ${randomBytes(8).toString('hex')}`
    const probe = server.database.db.collection<{ _id: string; body: string }>('log_probe')
    await probe.insertOne({ _id: 'taken', body: 'first' })
    const err = await probe.insertMany([{ _id: 'taken', body: text }], { ordered: false }).catch((e: unknown) => e)
    // The driver's error does carry the document, at a depth no redact path names.
    expect(JSON.stringify(err)).toContain(text)
    const out = logSink()
    createLogger({ LOG_LEVEL: 'info', NODE_ID: 'n', NODE_ENV: 'production' }, out.stream).error({ err, path: 'messages.send' }, 'procedure failed')
    expect(out.lines).toHaveLength(1)
    const line = out.lines[0] as { err: { type: string; message: string; code: number; stack: string } }
    expect(line.err).toMatchObject({ type: 'MongoBulkWriteError', code: 11000 })
    expect(line.err.message).toContain('duplicate key')
    expect(line.err.stack).toContain('MongoBulkWriteError')
    expect(out.text.join('\n')).not.toContain(text)
  })

  it('write one line per HTTP request: method, path without query, status, duration, request id, node, user', async () => {
    const c = createClient<AppRouter>(server.url)
    const username = `req_${randomBytes(4).toString('hex')}`
    const { user } = await c.trpc.auth.register.mutate({ username, password: 'correct horse battery' })
    const res = await fetch(`${server.url}/trpc/auth.me?input=%7B%7D&secret=zzz`, { headers: { cookie: c.jar.cookie!, 'x-request-id': 'trace-me-123' } })
    expect(res.headers.get('x-request-id')).toBe('trace-me-123')
    const generated = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } })
    const genId = generated.headers.get('x-request-id')
    expect(genId).toMatch(/^[0-9a-f-]{36}$/)

    // A line is written when the response has closed, which can be just after the client has it.
    await vi.waitFor(() => expect(lines.find((l) => l.reqId === 'trace-me-123')).toMatchObject({ msg: 'http', node: 'log-node', method: 'GET', path: '/trpc/auth.me', status: 200, userId: user.id }), { timeout: 5_000 })
    const line = lines.find((l) => l.reqId === 'trace-me-123')
    expect(typeof line!.ms).toBe('number')
    expect(JSON.stringify(line)).not.toContain('secret=zzz')
    // The later request's line is in, so a second line for the first would be too.
    await vi.waitFor(() => expect(lines.find((l) => l.reqId === genId)).toMatchObject({ path: '/healthz', status: 200 }), { timeout: 5_000 })
    expect(lines.filter((l) => l.reqId === 'trace-me-123')).toHaveLength(1)
    await c.close()
  })

  it('write a line when a WebSocket opens and one when it closes, with the connection id, user, duration and code', async () => {
    const c = createClient<AppRouter>(server.url)
    const { user } = await c.trpc.auth.register.mutate({ username: `ws_${randomBytes(4).toString('hex')}`, password: 'correct horse battery' })
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/trpc`, { headers: { cookie: c.jar.cookie! } })
    await new Promise((r) => ws.once('open', r))
    ws.send(JSON.stringify({ id: 1, method: 'query', params: { path: 'auth.me' } }))
    await new Promise((r) => ws.once('message', r))
    ws.close(4000, 'bye')
    await new Promise((r) => ws.once('close', r))
    // The client can see the close before the node logs it.
    await vi.waitFor(() => expect(lines.find((l) => l.msg === 'ws close' && l.userId === user.id)).toMatchObject({ node: 'log-node', code: 4000 }), { timeout: 5_000 })
    const close = lines.find((l) => l.msg === 'ws close' && l.userId === user.id)
    expect(typeof close!.ms).toBe('number')
    const open = lines.find((l) => l.msg === 'ws open' && l.connId === close!.connId)
    expect(open).toBeTruthy()
    await c.close()
  })
})
