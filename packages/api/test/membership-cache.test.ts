/**
 * The membership cache on the send path: a kick that lands while a member's
 * membership is being read must not leave the old membership cached, or the
 * kicked member could keep posting until the entry expired.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMemoryBus } from '@parley/bus'
import { ObjectId } from '@parley/db'
import { openTestDatabase, type TestDatabase } from '@parley/db/testing'
import type { PublicUser } from '@parley/schemas'
import { requireMemberCached, type AuthedContext } from '../src/access.ts'
import { createMembershipCache, type MembershipCache } from '../src/membership-cache.ts'

let database: TestDatabase
const bus = createMemoryBus({ nodeId: 'n1' })
let membership: MembershipCache
/** The commands sent to the database, by name. */
const commands: string[] = []
beforeAll(async () => {
  database = await openTestDatabase((name) => void commands.push(name))
  membership = createMembershipCache(30_000, bus)
  await membership.ready
})
afterAll(async () => {
  await membership.close()
  await database.drop()
})

const person = (name: string): PublicUser => ({ id: new ObjectId().toHexString(), username: name, displayName: name })
/** What requireMemberCached reads of a request's context. */
const contextOf = (user: PublicUser) => ({ deps: { database, membership }, session: { user: { _id: new ObjectId(user.id) } } }) as unknown as AuthedContext

async function roomWith(member: PublicUser) {
  const owner = person('owner')
  const room = await database.repos.rooms.create({ name: 'busy', visibility: 'public', owner })
  await database.repos.rooms.addMember(room, owner, 'owner')
  await database.repos.rooms.addMember(room, member, 'member')
  return room
}

describe('requireMemberCached', () => {
  it('serves a member from the cache once read: the next check asks the database nothing', async () => {
    const mia = person('mia')
    const room = await roomWith(mia)
    commands.length = 0
    await requireMemberCached(contextOf(mia), room._id.toHexString())
    expect(commands).toContain('find')
    commands.length = 0
    expect((await requireMemberCached(contextOf(mia), room._id.toHexString())).member.role).toBe('member')
    expect(commands).toEqual([])
  })

  it('does not keep a membership read that a kick overtook: the next send reads again and is refused', async () => {
    const kim = person('kim')
    const room = await roomWith(kim)
    const roomId = room._id.toHexString()
    // The read is answered while kim is still a member; the kick is announced before the answer is handled.
    const reading = requireMemberCached(contextOf(kim), roomId)
    membership.changed(roomId, kim.id)
    expect((await reading).member.role).toBe('member') // the send that raced the kick may go through
    await database.repos.rooms.removeMember(room._id, new ObjectId(kim.id), 'kicked')
    expect(membership.get(roomId, kim.id)).toBeNull()
    await expect(requireMemberCached(contextOf(kim), roomId)).rejects.toMatchObject({ code: 'FORBIDDEN' })
  })
})
