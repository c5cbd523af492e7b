/**
 * messages.search: what a reader finds in a room's history by a few words,
 * through the real server (embedded MongoDB, or MONGODB_URL).
 */
import { TRPCClientError } from '@trpc/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestServer, type TestServer } from './factory.ts'
import { send, twoInARoom } from './helpers.ts'

const code = (err: unknown) => (err instanceof TRPCClientError ? err.data?.code : String(err))

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.stop())

describe('messages.search', () => {
  it('finds the messages holding the words, in any case, newest first, page by page, each once', async () => {
    const { alice, bob, roomId } = await twoInARoom(server, 'search-pages')
    const bodies = ['The Wi-Fi password is on the fridge', 'lunch?', 'wifi is down again', 'who moved the wi-fi router', 'WI-FI back up']
    for (const [i, body] of bodies.entries()) await send(i % 2 ? bob : alice, roomId, body)
    const all = await bob.trpc.messages.search.query({ roomId, query: 'wi-fi' })
    expect(all.messages.map((m) => m.body)).toEqual(['WI-FI back up', 'who moved the wi-fi router', 'The Wi-Fi password is on the fridge'])
    expect(all.nextBefore).toBeNull()

    // Two at a time: the same three, none twice, and the end said.
    const seen: string[] = []
    let before: number | undefined
    for (let pages = 0; pages < 5; pages++) {
      const page = await bob.trpc.messages.search.query({ roomId, query: 'WI-FI', limit: 2, before })
      seen.push(...page.messages.map((m) => m.body))
      if (page.nextBefore === null) break
      before = page.nextBefore
    }
    expect(seen).toEqual(all.messages.map((m) => m.body))
  })

  it('matches the text as it is now: an edit is found by its new words, a deleted message never; punctuation is literal', async () => {
    const { alice, bob, roomId } = await twoInARoom(server, 'search-changes')
    const typo = await send(alice, roomId, 'meet at the stasion')
    const gone = await send(alice, roomId, 'meet at the station, secret door')
    const reacted = await send(bob, roomId, 'station at 9? (c++ folks too)')
    await alice.trpc.messages.edit.mutate({ messageId: typo.id, body: 'meet at the station' })
    await alice.trpc.messages.delete.mutate({ messageId: gone.id })
    await alice.trpc.messages.react.mutate({ messageId: reacted.id, emoji: '👍', on: true })

    const found = await bob.trpc.messages.search.query({ roomId, query: 'station' })
    expect(found.messages.map((m) => [m.body, m.editedAt !== null])).toEqual([
      ['station at 9? (c++ folks too)', false],
      ['meet at the station', true],
    ])
    expect((await bob.trpc.messages.search.query({ roomId, query: 'stasion' })).messages).toEqual([])
    expect((await bob.trpc.messages.search.query({ roomId, query: 'secret' })).messages).toEqual([])
    expect((await bob.trpc.messages.search.query({ roomId, query: '(c++' })).messages.map((m) => m.id)).toEqual([reacted.id])
    expect((await bob.trpc.messages.search.query({ roomId, query: '.*' })).messages).toEqual([])
  })

  it('reads as messages.list does: a private room only for its members, a public one for anyone; words are required', async () => {
    const { alice, roomId: open } = await twoInARoom(server, 'search-open')
    await send(alice, open, 'an open secret')
    const closed = (await alice.trpc.rooms.create.mutate({ name: 'search-closed', visibility: 'private' })).id
    await send(alice, closed, 'a closed secret')
    const eve = await server.signUp()
    expect((await eve.trpc.messages.search.query({ roomId: open, query: 'secret' })).messages.map((m) => m.body)).toEqual(['an open secret'])
    expect(code(await eve.trpc.messages.search.query({ roomId: closed, query: 'secret' }).catch((e: unknown) => e))).toBe('NOT_FOUND')
    const blank = await alice.trpc.messages.search.query({ roomId: open, query: '   ' }).catch((e: unknown) => e)
    expect(code(blank)).toBe('BAD_REQUEST')
    expect((blank as Error).message).toContain('Type something to search for')
  })
})
