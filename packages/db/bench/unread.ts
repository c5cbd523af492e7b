// What it costs to tell a returning member how much they missed: the time of
// `rooms.listForUser` (the room list: unread counts, newest messages) and of
// `rooms.unreadOf` (what `events.user` counts when a stream opens) for a
// member of one room with a growing backlog of unread messages by others —
// on a node that has not counted the room yet (fresh repositories each round),
// and again on one that has (its events kept: unread.ts, event-runs.ts).
// The database is the one the storage tests use: MONGODB_URL if set,
// otherwise the embedded server in this process (so its time is included).
//
//   pnpm --filter @parley/db bench:unread [--backlogs 100,1000,10000,50000] [--rounds 5]
//
// Reports the median over rounds, per backlog, and the count each returned.

import { parseArgs } from 'node:util'
import { ObjectId } from 'mongodb'
import { openTestDatabase } from '../test/harness.ts'
import { createRepositories } from '../src/index.ts'

const { values } = parseArgs({ options: { backlogs: { type: 'string', default: '100,1000,10000,50000' }, rounds: { type: 'string', default: '5' } } })
const backlogs = values.backlogs.split(',').map(Number).sort((a, b) => a - b)
const rounds = Number(values.rounds)
if (backlogs.some((n) => !Number.isInteger(n) || n < 0) || !(rounds >= 1)) throw new Error('--backlogs takes whole numbers, --rounds at least 1')

const database = await openTestDatabase()
const { rooms, messages } = database.repos
const person = (name: string) => ({ id: new ObjectId().toHexString(), username: name, displayName: name })
const author = person('author')
const reader = person('reader')
const readerId = new ObjectId(reader.id)
const room = await rooms.create({ name: 'backlog', visibility: 'public', owner: author })
await rooms.addMember(room, reader, 'member')

async function median(work: () => Promise<unknown>): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < rounds; i++) {
    const started = process.hrtime.bigint()
    await work()
    times.push(Number(process.hrtime.bigint() - started) / 1e6)
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!
}

console.log('| unread messages | rooms.listForUser, first | rooms.unreadOf, first | rooms.unreadOf, again | count returned |')
console.log('| ---: | ---: | ---: | ---: | ---: |')
let written = 0
for (const backlog of backlogs) {
  while (written < backlog) {
    const batch = []
    for (let k = 0; k < 200 && written < backlog; k++, written++) batch.push(messages.send({ roomId: room._id, author, clientId: `m${written}`, body: 'a message the reader has not read yet' }))
    await Promise.all(batch)
  }
  const memberships = await rooms.membershipsOf(readerId)
  const fresh = () => createRepositories(database.collections).rooms
  const list = await median(() => fresh().listForUser(readerId))
  const counted = await median(() => fresh().unreadOf(readerId, memberships))
  const [count] = await rooms.unreadOf(readerId, memberships)
  const again = await median(() => rooms.unreadOf(readerId, memberships))
  console.log(`| ${backlog.toLocaleString('en-US')} | ${list.toFixed(1)} ms | ${counted.toFixed(1)} ms | ${again.toFixed(1)} ms | ${count!.unread.toLocaleString('en-US')} |`)
}
await database.drop()
