import { ObjectId } from 'mongodb'
import type { Message, PublicUser, RoomEvent } from '@parley/schemas'
import type { Collections } from '../client.ts'
import type { EventDoc, MessageDoc } from '../documents.ts'
import type { EventLog } from './events.ts'
import { isDuplicateKey } from '../indexes.ts'
import { toMessage, toReactions } from './mappers.ts'

/** MongoDB's name for the primary key index. */
const ID_INDEX = '_id_'

/** `event` is null when the send was a retry of an earlier one (nothing new to announce). */
export type SendResult = { message: Message; event: EventDoc | null }

/** A room's unread range for one member: after their read marker, up to `throughSeq` (default: the end). */
export interface UnreadRange {
  roomId: ObjectId
  afterSeq: number
  throughSeq?: number | undefined
}

/** A room's unread count, and the seq it was taken as of (the newest event it read, else the range's start or bound). */
export interface UnreadCount {
  unread: number
  through: number
}

/** Unread counts stop here (see unreadCounts). */
export const DEFAULT_UNREAD_COUNT_LIMIT = 1000

export interface MessagesOptions {
  /** Where counting unread messages stops: a count of this or more means at least this many. */
  unreadCountLimit?: number
}

/** Rooms counted per query (an `$or` branch each); a user in more rooms takes more queries. */
const UNREAD_ROOMS_PER_QUERY = 100

type CreatedEvent = EventDoc & { data: Extract<RoomEvent, { type: 'message.created' }> }

/**
 * Messages. A send is one write: the `message.created` event, whose _id is
 * the message's id. The event log decides order and idempotency, and a
 * message nobody changed lives only there.
 *
 * The `messages` collection holds the current state of messages that did
 * change (edits, tombstones, reactions): the first change copies the message
 * out of its event, and state writes are guarded by `updatedSeq`, so a late
 * writer never overwrites a newer event's state. Reads take the message from
 * its event and this state where there is one. (Databases written before this
 * had a state document for every message; reads find those the same way.)
 */
export function createMessages(c: Collections, log: EventLog, { unreadCountLimit = DEFAULT_UNREAD_COUNT_LIMIT }: MessagesOptions = {}) {
  const CREATED = 'message.created'

  function docFromMessage(m: Message, authorId: ObjectId): MessageDoc {
    return {
      _id: new ObjectId(m.id),
      roomId: new ObjectId(m.roomId),
      seq: m.seq,
      authorId,
      author: m.author,
      body: m.body,
      clientId: m.clientId,
      createdAt: new Date(m.createdAt),
      editedAt: null,
      deleted: false,
      reactions: {},
      updatedSeq: m.seq,
    }
  }

  /** Documents get() made from an event: not stored until the message first changes. */
  const unstored = new WeakSet<MessageDoc>()

  const authorOf = (e: CreatedEvent) => e.authorId ?? new ObjectId(e.data.message.author.id)

  /** The messages of these events as they are now: their state documents where there are some. */
  async function current(events: CreatedEvent[]): Promise<Message[]> {
    if (events.length === 0) return []
    const states = await c.messages.find({ _id: { $in: events.map((e) => new ObjectId(e.data.message.id)) } }).toArray()
    const byId = new Map(states.map((d) => [d._id.toHexString(), d]))
    return events.map((e) => {
      const state = byId.get(e.data.message.id)
      return state ? toMessage(state) : e.data.message
    })
  }

  /**
   * Stores a document get() made from an event (before the message's first
   * change); one stored meanwhile by a concurrent change is left as it is.
   */
  async function materialise(doc: MessageDoc): Promise<void> {
    if (!unstored.has(doc)) return
    try {
      await c.messages.insertOne(doc)
    } catch (err) {
      if (!isDuplicateKey(err, ID_INDEX)) throw err
    }
  }

  async function send(input: { roomId: ObjectId; author: PublicUser; clientId: string; body: string }): Promise<SendResult> {
    const authorId = new ObjectId(input.author.id)
    const id = new ObjectId()
    const createdAt = new Date().toISOString()
    const roomId = input.roomId.toHexString()
    const messageId = id.toHexString()
    const result = await log.append(input.roomId, {
      id,
      idempotency: { authorId, clientId: input.clientId },
      build: (seq) => ({
        type: CREATED,
        roomId,
        seq,
        message: {
          id: messageId,
          roomId,
          seq,
          author: input.author,
          body: input.body,
          createdAt,
          editedAt: null,
          deleted: false,
          clientId: input.clientId,
          reactions: [],
        },
      }),
    })
    if (result.ok) {
      if (result.event.data.type !== CREATED) throw new Error('appended a non-message event')
      return { message: result.event.data.message, event: result.event }
    }
    // A retry: return the original as it is now (it may have been edited since).
    const original = result.duplicateOf
    if (original.data.type !== CREATED) throw new Error('idempotency key points at a non-message event')
    const [message] = await current([original as CreatedEvent])
    return { message: message as Message, event: null }
  }

  async function list(roomId: ObjectId, before: number | undefined, limit: number) {
    const filter = { roomId, 'data.type': CREATED, ...(before === undefined ? {} : { seq: { $lt: before } }) }
    const events = (await c.events.find(filter).sort({ seq: -1 }).limit(limit + 1).toArray()) as CreatedEvent[]
    const hasMore = events.length > limit
    return { messages: await current(events.slice(0, limit).reverse()), hasMore }
  }

  /** The message's current state document; for a message never changed, one made from its event (not stored until its first change). */
  async function get(messageId: ObjectId): Promise<MessageDoc | null> {
    const state = await c.messages.findOne({ _id: messageId })
    if (state) return state
    const event = await c.events.findOne({ _id: messageId })
    if (event?.data.type !== CREATED) return null
    const doc = docFromMessage(event.data.message, authorOf(event as CreatedEvent))
    unstored.add(doc)
    return doc
  }

  /** Appends an event about `doc` and applies `patch` to the state if no newer event got there first. */
  async function change(
    doc: MessageDoc,
    type: 'message.updated' | 'message.deleted',
    patch: Pick<MessageDoc, 'body' | 'editedAt' | 'deleted'>,
  ): Promise<{ message: Message; event: EventDoc }> {
    const next = { ...doc, ...patch }
    const result = await log.append(doc.roomId, {
      build: (seq) => ({ type, roomId: doc.roomId.toHexString(), seq, message: toMessage({ ...next, updatedSeq: seq }) }),
    })
    if (!result.ok) throw new Error('unexpected idempotency conflict')
    const seq = result.event.seq
    await materialise(doc)
    await c.messages.updateOne({ _id: doc._id, updatedSeq: { $lt: seq } }, { $set: { ...patch, updatedSeq: seq } })
    return { message: toMessage({ ...next, updatedSeq: seq }), event: result.event }
  }

  function edit(doc: MessageDoc, body: string) {
    return change(doc, 'message.updated', { body, editedAt: new Date(), deleted: false })
  }

  function remove(doc: MessageDoc) {
    return change(doc, 'message.deleted', { body: '', editedAt: doc.editedAt, deleted: true })
  }

  /** Toggles one user's reaction; returns null when nothing changed (no event). */
  async function react(doc: MessageDoc, userId: string, emoji: string, on: boolean) {
    const field = `reactions.${emoji}`
    await materialise(doc)
    const updated = await c.messages.findOneAndUpdate(
      on ? { _id: doc._id, [field]: { $ne: userId } } : { _id: doc._id, [field]: userId },
      on ? { $addToSet: { [field]: userId } } : { $pull: { [field]: userId } },
      { returnDocument: 'after' },
    )
    if (!updated) return null
    const reactions = toReactions(updated.reactions)
    const result = await log.append(doc.roomId, {
      build: (seq) => ({ type: 'reaction', roomId: doc.roomId.toHexString(), seq, messageId: doc._id.toHexString(), userId, emoji, on, reactions }),
    })
    if (!result.ok) throw new Error('unexpected idempotency conflict')
    return { event: result.event, message: toMessage(updated) }
  }

  /**
   * What the user has not read in each of their rooms: messages by others
   * after `afterSeq` (up to `throughSeq`, if given); deleted ones do not count.
   * Two queries (sent, deleted) for up to UNREAD_ROOMS_PER_QUERY rooms — one
   * `$or` branch, one index range, per room — instead of two per room: a user
   * in thirty rooms reconnecting costs two round trips, not sixty. One entry
   * per room; the counts come back in the order asked, each with the seq it
   * is as of (`through`), so a live count can add only the messages after it.
   *
   * Counting reads every event in the range, so a long absence from a busy
   * room would cost its whole backlog at every load. Each room's range is read
   * a window of `2 × unreadCountLimit` events at a time, and counting stops
   * once it reaches the limit: below it a count is exact; at or above it, it
   * means "at least that many" (the app shows 99+ from 100), as of the window
   * it stopped at.
   */
  async function unreadCounts(userId: ObjectId, ranges: readonly UnreadRange[]): Promise<UnreadCount[]> {
    const window = 2 * unreadCountLimit
    const counts: UnreadCount[] = ranges.map((r) => ({ unread: 0, through: r.afterSeq }))
    let counting = ranges.map((_, i) => i)
    while (counting.length > 0) {
      const more: number[] = []
      for (let i = 0; i < counting.length; i += UNREAD_ROOMS_PER_QUERY) {
        const part = counting.slice(i, i + UNREAD_ROOMS_PER_QUERY).map((index) => {
          const { roomId, throughSeq } = ranges[index]!
          const from = counts[index]!.through
          return { index, roomId, from, to: throughSeq === undefined ? from + window : Math.min(throughSeq, from + window), last: throughSeq }
        })
        const $or = part.map((r) => ({ roomId: r.roomId, seq: { $gt: r.from, $lte: r.to } }))
        const [sent, deleted] = await Promise.all([
          // Every event of the ranges: messages by others are counted, and the newest seq read is the count's cut.
          c.events
            .aggregate<{ _id: ObjectId; n: number; through: number }>([
              { $match: { $or } },
              { $group: { _id: '$roomId', n: { $sum: { $cond: [{ $and: [{ $eq: ['$data.type', CREATED] }, { $ne: ['$authorId', userId] }] }, 1, 0] } }, through: { $max: '$seq' } } },
            ])
            .toArray(),
          c.messages.aggregate<{ _id: ObjectId; n: number }>([{ $match: { $or, authorId: { $ne: userId }, deleted: true } }, { $group: { _id: '$roomId', n: { $sum: 1 } } }]).toArray(),
        ])
        const sentIn = new Map(sent.map((s) => [s._id.toHexString(), s]))
        const deletedIn = new Map(deleted.map((d) => [d._id.toHexString(), d.n]))
        for (const r of part) {
          const key = r.roomId.toHexString()
          const found = sentIn.get(key)
          if (!found) continue
          const count = counts[r.index]!
          count.unread += found.n - (deletedIn.get(key) ?? 0)
          count.through = found.through
          // Seqs are dense: a window read to its end may have more after it.
          if (found.through === r.to && r.to !== r.last && count.unread < unreadCountLimit) more.push(r.index)
        }
      }
      counting = more
    }
    return counts
  }

  async function unreadCount(roomId: ObjectId, userId: ObjectId, afterSeq: number, throughSeq?: number): Promise<number> {
    return (await unreadCounts(userId, [{ roomId, afterSeq, throughSeq }]))[0]!.unread
  }

  /**
   * The newest message of each room (their previews in the room list), by
   * room id. One indexed read per room for its newest message event, then one
   * read for the stored state of all of them (edits, deletions).
   */
  async function latestOf(roomIds: readonly ObjectId[]): Promise<Map<string, Message>> {
    const newest = await Promise.all(roomIds.map((roomId) => c.events.find({ roomId, 'data.type': CREATED }).sort({ seq: -1 }).limit(1).next() as Promise<CreatedEvent | null>))
    const found = await current(newest.filter((e) => e !== null))
    return new Map(found.map((m) => [m.roomId, m]))
  }

  const latest = async (roomId: ObjectId): Promise<Message | null> => (await latestOf([roomId])).get(roomId.toHexString()) ?? null

  return { send, list, get, edit, remove, react, unreadCounts, unreadCount, latest, latestOf }
}
export type Messages = ReturnType<typeof createMessages>
