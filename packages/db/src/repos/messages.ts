import { ObjectId } from 'mongodb'
import type { Message, PublicUser } from '@parley/schemas'
import type { Collections } from '../client.ts'
import type { EventDoc, MessageDoc } from '../documents.ts'
import type { EventLog } from './events.ts'
import { isDuplicateKey } from '../indexes.ts'
import { createInsertBatcher } from './insert-batcher.ts'
import { toMessage, toReactions } from './mappers.ts'

/** MongoDB's name for the primary key index. */
const ID_INDEX = '_id_'

/** `event` is null when the send was a retry of an earlier one (nothing new to announce). */
export type SendResult = { message: Message; event: EventDoc | null }

/**
 * Messages: the event log decides order and idempotency; the `messages`
 * collection is the current state (edits, tombstones, reactions) for history
 * pages. State writes are guarded by `updatedSeq`, so a late writer never
 * overwrites a newer event's state.
 */
export function createMessages(c: Collections, log: EventLog) {
  // Sends completing together (one batched event insert) write their documents together too.
  const insertMessage = createInsertBatcher(c.messages)

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

  /**
   * Writes the message document of a `message.created` event; false when it
   * already exists. A plain insert (not an upsert): no lookup first, and a
   * duplicate on `_id` means an earlier attempt got this far, so running it
   * again (a retried send healing a crash between the two writes) is harmless.
   */
  async function materialise(m: Message, authorId: ObjectId): Promise<boolean> {
    try {
      await insertMessage(docFromMessage(m, authorId))
      return true
    } catch (err) {
      if (isDuplicateKey(err, ID_INDEX)) return false
      throw err
    }
  }

  async function send(input: { roomId: ObjectId; author: PublicUser; clientId: string; body: string }): Promise<SendResult> {
    const authorId = new ObjectId(input.author.id)
    const id = new ObjectId()
    const createdAt = new Date().toISOString()
    const roomId = input.roomId.toHexString()
    const messageId = id.toHexString()
    const result = await log.append(input.roomId, {
      idempotency: { authorId, clientId: input.clientId },
      build: (seq) => ({
        type: 'message.created',
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
    const event = result.ok ? result.event : result.duplicateOf
    if (event.data.type !== 'message.created') throw new Error('idempotency key points at a non-message event')
    const inserted = await materialise(event.data.message, authorId)
    if (!result.ok) {
      // A retry: the document may have changed since (edits, reactions); return it as it is now.
      const current = inserted ? null : await c.messages.findOne({ _id: new ObjectId(event.data.message.id) })
      return { message: current ? toMessage(current) : event.data.message, event: null }
    }
    return { message: event.data.message, event }
  }

  async function list(roomId: ObjectId, before: number | undefined, limit: number) {
    const filter = before === undefined ? { roomId } : { roomId, seq: { $lt: before } }
    const docs = await c.messages.find(filter).sort({ seq: -1 }).limit(limit + 1).toArray()
    const hasMore = docs.length > limit
    return { messages: docs.slice(0, limit).reverse().map(toMessage), hasMore }
  }

  function get(messageId: ObjectId) {
    return c.messages.findOne({ _id: messageId })
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

  /** Messages by others after `seq`: what the user has not read. */
  function unreadCount(roomId: ObjectId, userId: ObjectId, afterSeq: number) {
    return c.messages.countDocuments({ roomId, seq: { $gt: afterSeq }, authorId: { $ne: userId }, deleted: false })
  }

  /** The newest message of a room (its preview in the room list). */
  async function latest(roomId: ObjectId): Promise<Message | null> {
    const doc = await c.messages.find({ roomId }).sort({ seq: -1 }).limit(1).next()
    return doc ? toMessage(doc) : null
  }

  return { send, list, get, edit, remove, react, unreadCount, latest }
}
export type Messages = ReturnType<typeof createMessages>
