/**
 * A room's loaded history as Vue Query holds it, and the pure functions that
 * fold pages and room events into it. Messages are kept in ascending `seq`
 * (the seq of their `message.created` event), one per seq, deleted ones as
 * tombstones.
 */
import type { Message, Reaction, RoomEvent } from '@parley/schemas'

export interface Timeline {
  messages: Message[]
  /** Older messages exist on the server. */
  hasMore: boolean
  /** Seeded from IndexedDB: not yet confirmed by the server (older pages wait for it). */
  fromCache?: boolean
}

/** Merge messages by seq (incoming wins), ascending. */
export function upsertMessages(list: readonly Message[], incoming: readonly Message[]): Message[] {
  if (incoming.length === 0) return list as Message[]
  const bySeq = new Map<number, Message>()
  for (const m of list) bySeq.set(m.seq, m)
  for (const m of incoming) bySeq.set(m.seq, m)
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq)
}

function replaceById(list: readonly Message[], id: string, fn: (m: Message) => Message): Message[] {
  const i = list.findIndex((m) => m.id === id)
  if (i < 0) return list as Message[]
  const next = list.slice()
  next[i] = fn(list[i] as Message)
  return next
}

export function tombstone(m: Message): Message {
  return { ...m, deleted: true, body: '', reactions: [] }
}

/** Fold one persisted room event into a message list (returns the same array when nothing changed). */
export function applyRoomEvent(list: readonly Message[], event: RoomEvent): Message[] {
  switch (event.type) {
    case 'message.created': {
      const existing = list.find((m) => m.seq === event.message.seq)
      // Replayed after a reconnect: what we hold may already be newer (edited, deleted).
      if (existing) return list as Message[]
      return upsertMessages(list, [event.message])
    }
    // Reactions change only through their own events: an edit carries them as read
    // before the edit was written, and two reactions written at once can reach the
    // log in either order, each listing the reactions as its own write left them.
    // So each reaction event is applied as the delta it is (docs/api.md).
    case 'message.updated':
      return replaceById(list, event.message.id, (m) => (m.deleted ? m : { ...event.message, reactions: m.reactions }))
    case 'message.deleted':
      return replaceById(list, event.message.id, (m) => tombstone({ ...m, ...event.message }))
    case 'reaction':
      return replaceById(list, event.messageId, (m) =>
        m.deleted ? m : { ...m, reactions: toggleReaction(m.reactions, event.emoji, event.userId, event.on) },
      )
    default:
      return list as Message[]
  }
}

/**
 * A fresh latest page. Fresh data wins for what it holds; messages newer than
 * the page (from live events meanwhile) are kept, and so are older ones where
 * the page overlaps them: loaded older pages, and a copy seeded from IndexedDB
 * that someone may be reading on a slow network (its rows would vanish under
 * them). The room's resumed events bring the copy's older messages up to date
 * (`getLastSeq` resumes from the copy's newest message at the latest). Across
 * a gap, or where the page holds other messages at the same seqs (the room's
 * log was replaced), the older ones go.
 */
export function mergeLatest(existing: Timeline | undefined, fresh: Timeline): Timeline {
  const last = fresh.messages.at(-1)?.seq ?? 0
  // Live events can land while the page is in flight, even on a cache seeded
  // from IndexedDB: whatever is newer than the page stays.
  const newer = existing ? existing.messages.filter((m) => m.seq > last) : []
  if (!existing || fresh.messages.length === 0) {
    return { messages: [...fresh.messages, ...newer], hasMore: fresh.hasMore }
  }
  const first = (fresh.messages[0] as Message).seq
  const inPage = new Map(fresh.messages.map((m) => [m.seq, m.id]))
  const held = existing.messages.filter((m) => m.seq >= first && m.seq <= last)
  const overlaps =
    held.some((m) => inPage.get(m.seq) === m.id) &&
    held.every((m) => (inPage.get(m.seq) ?? m.id) === m.id)
  const older = fresh.hasMore && overlaps ? existing.messages.filter((m) => m.seq < first) : []
  return {
    messages: [...older, ...fresh.messages, ...newer],
    hasMore: older.length > 0 ? existing.hasMore : fresh.hasMore,
  }
}

/** An older page (`before` = our first seq) goes in front. */
export function prependOlder(existing: Timeline | undefined, page: Timeline): Timeline {
  return {
    messages: upsertMessages(existing?.messages ?? [], page.messages),
    hasMore: page.hasMore,
  }
}

/** Toggle one user's reaction locally (optimistic), keeping counts and ids consistent. */
export function toggleReaction(
  reactions: readonly Reaction[],
  emoji: string,
  userId: string,
  on: boolean,
): Reaction[] {
  const out = reactions.map((r) => ({ ...r, userIds: [...r.userIds] }))
  let r = out.find((x) => x.emoji === emoji)
  if (on) {
    if (!r) out.push((r = { emoji, count: 0, userIds: [] }))
    if (!r.userIds.includes(userId)) {
      r.userIds.push(userId)
      r.count += 1
    }
  } else if (r && r.userIds.includes(userId)) {
    r.userIds = r.userIds.filter((id) => id !== userId)
    r.count = Math.max(0, r.count - 1)
  }
  return out.filter((x) => x.count > 0)
}
