import { ObjectId } from 'mongodb'
import type { Message, PublicUser, RoomEvent } from '@parley/schemas'
import type { Collections } from '../client.ts'
import type { EventDoc, MessageDoc } from '../documents.ts'
import type { EventLog } from './events.ts'
import { isDuplicateKey } from '../indexes.ts'
import { containing } from './search-pattern.ts'
import { toMessage, toReactions } from './mappers.ts'
import { batchedLookup, type LookupOptions } from '../batch.ts'
import { createUnreadCounter } from './unread.ts'

/** MongoDB's name for the primary key index. */
const ID_INDEX = '_id_'

/** `event` is null when the send was a retry of an earlier one (nothing new to announce). */
export type SendResult = { message: Message; event: EventDoc | null }

export interface MessagesOptions extends LookupOptions {
  /** Where counting unread messages stops: a count of this or more means at least this many. */
  unreadCountLimit?: number
  /** Events of rooms' logs kept for the next unread counts (see event-runs.ts). */
  unreadCacheEvents?: number
}

type CreatedEvent = EventDoc & { data: Extract<RoomEvent, { type: 'message.created' }> }

/** A room's newest message as it was created, at its seq. */
export interface NewestMessage {
  seq: number
  message: Message
}

/**
 * What a caller already knows of rooms' newest messages, by room id, as they
 * were created: undefined when it does not know (the room is read), null
 * when the room has none. It may first find out (a node following the room).
 */
export type NewestMessages = (roomId: string) => Message | null | undefined | Promise<Message | null | undefined>

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
export function createMessages(c: Collections, log: EventLog, { unreadCountLimit, unreadCacheEvents, lookupWindowMs }: MessagesOptions = {}) {
  const CREATED = 'message.created'
  const { unreadCounts } = createUnreadCounter(c, { limit: unreadCountLimit, cacheEvents: unreadCacheEvents, lookupWindowMs })

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

  /**
   * The stored state of changed messages, by id. Everyone asking at once
   * shares one read: a page of history, the newest messages of a crowd's room
   * lists.
   */
  const stateOf = batchedLookup<ObjectId, MessageDoc>({
    crowdWindowMs: lookupWindowMs,
    key: (id) => id.toHexString(),
    fetch: (ids) => c.messages.find({ _id: { $in: [...ids] } }).toArray(),
    keyOf: (d) => d._id.toHexString(),
  })

  /** Messages as they were created, as they are now: their state documents where there are some. */
  function current(created: readonly Message[]): Promise<Message[]> {
    return Promise.all(created.map(async (m) => {
      const state = await stateOf(new ObjectId(m.id))
      return state ? toMessage(state) : m
    }))
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
    return { message: await originalAsNow(original as CreatedEvent), event: null }
  }

  async function originalAsNow(event: CreatedEvent): Promise<Message> {
    const [message] = await current([event.data.message])
    return message!
  }

  /** The message `authorId` already sent to the room under `clientId`, as it is now; null if none. */
  async function findSent(roomId: ObjectId, authorId: ObjectId, clientId: string): Promise<Message | null> {
    const event = await log.byClientId(roomId, authorId, clientId)
    return event?.data.type === CREATED ? originalAsNow(event as CreatedEvent) : null
  }

  async function list(roomId: ObjectId, before: number | undefined, limit: number) {
    const filter = { roomId, 'data.type': CREATED, ...(before === undefined ? {} : { seq: { $lt: before } }) }
    const events = (await c.events.find(filter).sort({ seq: -1 }).limit(limit + 1).toArray()) as CreatedEvent[]
    const hasMore = events.length > limit
    return { messages: await current(events.slice(0, limit).reverse().map((e) => e.data.message)), hasMore }
  }

  /**
   * A page of the room's messages whose text, as it is now, contains `query`
   * (any case; deleted ones never), newest first, below `before`. Messages
   * matched as they were written (the log) and as they are (those changed
   * since): each source is read `limit` + 1 at most, and the page stops
   * where one that filled up was not read further. `nextBefore` is where the
   * next page starts; null when nothing older can match.
   */
  async function search(roomId: ObjectId, query: string, before: number | undefined, limit: number) {
    const pattern = containing(query)
    const below = before === undefined ? {} : { seq: { $lt: before } }
    const [written, changed] = await Promise.all([
      c.events.find({ roomId, 'data.type': CREATED, 'data.message.body': pattern, ...below }).sort({ seq: -1 }).limit(limit + 1).toArray() as Promise<CreatedEvent[]>,
      c.messages.find({ roomId, deleted: false, body: pattern, ...below }).sort({ seq: -1 }).limit(limit + 1).toArray(),
    ])
    // Below the last seq read of a source that filled up, it may hold more: not part of this page.
    const floor = Math.max(0, ...[written, changed].filter((docs) => docs.length > limit).map((docs) => docs[limit - 1]!.seq))
    const seqs = new Set<number>()
    const candidates = [...written.map((e) => e.data.message), ...changed.map(toMessage)].filter((m) => m.seq >= floor && !seqs.has(m.seq) && seqs.add(m.seq))
    const needle = query.toLowerCase()
    const found = (await current(candidates)).filter((m) => !m.deleted && m.body.toLowerCase().includes(needle)).sort((a, b) => b.seq - a.seq)
    const page = found.slice(0, limit)
    const nextBefore = found.length > limit ? page[limit - 1]!.seq : floor > 0 ? floor : null
    return { messages: page, nextBefore }
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

  async function unreadCount(roomId: ObjectId, userId: ObjectId, afterSeq: number, throughSeq?: number): Promise<number> {
    return (await unreadCounts(userId, [{ roomId, afterSeq, throughSeq }]))[0]!.unread
  }

  /**
   * A room's newest message as it was created, and its seq (null: the room has
   * none): one indexed read per room, shared by everyone asking about it at
   * once — a crowd reloading its room lists after a reconnect storm asks
   * about the same rooms.
   */
  const newestCreated = batchedLookup<ObjectId, NewestMessage>({
    crowdWindowMs: lookupWindowMs,
    key: (roomId) => roomId.toHexString(),
    fetch: async (roomIds) => {
      const events = await Promise.all(roomIds.map((roomId) => c.events.find({ roomId, 'data.type': CREATED }).sort({ seq: -1 }).limit(1).next() as Promise<CreatedEvent | null>))
      return events.flatMap((e) => (e ? [{ seq: e.seq, message: e.data.message }] : []))
    },
    keyOf: (n) => n.message.roomId,
  })

  /**
   * The newest message of each room (its preview in the room list), by room
   * id; rooms with none are left out. `known` may already know a room's
   * newest message as it was created (null: the room has none), as a node
   * following the room does: that room costs no read of its own. Then one
   * read for the current state (edits, deletions, reactions) of all of them.
   */
  async function latestOf(roomIds: readonly ObjectId[], known?: NewestMessages): Promise<Map<string, Message>> {
    const created = await Promise.all(
      roomIds.map(async (roomId) => {
        const told = await known?.(roomId.toHexString())
        return told !== undefined ? told : ((await newestCreated(roomId))?.message ?? null)
      }),
    )
    const found = await current(created.filter((m) => m !== null))
    return new Map(found.map((m) => [m.roomId, m]))
  }

  const latest = async (roomId: ObjectId): Promise<Message | null> => (await latestOf([roomId])).get(roomId.toHexString()) ?? null

  return { send, findSent, list, search, get, edit, remove, react, unreadCounts, unreadCount, latest, latestOf, newestCreated }
}
export type Messages = ReturnType<typeof createMessages>
