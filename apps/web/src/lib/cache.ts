/**
 * Typed helpers over the Vue Query cache for the entries subscriptions and the
 * outbox write into: a room's timeline (`messages.list({ roomId })`), the room
 * list and members. All updates are immutable so components re-render. The
 * room list and members take their types from the router (setTrpcData); the
 * timeline is its own shape (a page plus `fromCache`), so it names it.
 */
import type { QueryClient } from '@tanstack/vue-query'
import type { Member, Message, PublicUser, RoomListItem } from '@parley/schemas'
import type { Input } from './contract.ts'
import type { Timeline } from './timeline.ts'
import { getTrpcData, setTrpcData, trpcKey, trpcPathKey } from './trpc-query.ts'

/** The timeline lives under messages.list with the bare `{ roomId }` input. */
export const timelineInput = (roomId: string): Input<'messages.list'> => ({ roomId })
export const timelineKey = (roomId: string) => trpcKey('messages.list', timelineInput(roomId))

export function getTimeline(qc: QueryClient, roomId: string): Timeline | undefined {
  return qc.getQueryData<Timeline>(timelineKey(roomId))
}

export function updateTimeline(
  qc: QueryClient,
  roomId: string,
  fn: (t: Timeline) => Timeline,
): void {
  qc.setQueryData<Timeline>(timelineKey(roomId), (old) => (old ? fn(old) : old))
}

export const roomListKey = () => trpcKey('rooms.list')

export function getRoomList(qc: QueryClient): RoomListItem[] | undefined {
  return getTrpcData(qc, 'rooms.list')
}

export function sortRooms(rooms: RoomListItem[]): RoomListItem[] {
  return rooms.slice().sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt))
}

/**
 * A fresh `rooms.list` over the list held. The server read it a moment ago,
 * and what the page heard since (a message of ours acknowledged, news on the
 * user's stream) may be newer: a reconnect's refetch answered after the
 * outbox sent what was written offline showed the room's old last message.
 * So per room, within one log (`epoch`), what only grows takes the newer side:
 * `seq`, the last message (by its seq) and the activity time. The rest is the
 * server's: the refetch is how missed changes arrive, and the unread count and
 * read marker as the server last had them place the "New" line a room opens
 * at (this page marks what it shows as read before the server hears of it).
 */
export function mergeRoomList(
  held: RoomListItem[] | undefined,
  fresh: RoomListItem[],
): RoomListItem[] {
  if (!held) return fresh
  const byId = new Map(held.map((r) => [r.id, r]))
  return sortRooms(
    fresh.map((r) => {
      const mine = byId.get(r.id)
      if (!mine || mine.epoch !== r.epoch) return r
      const newerMessage = (mine.lastMessage?.seq ?? 0) > (r.lastMessage?.seq ?? 0)
      if (!newerMessage && mine.seq <= r.seq) return r
      return {
        ...r,
        seq: Math.max(r.seq, mine.seq),
        lastMessage: newerMessage ? mine.lastMessage : r.lastMessage,
        lastActivityAt:
          mine.lastActivityAt > r.lastActivityAt ? mine.lastActivityAt : r.lastActivityAt,
      }
    }),
  )
}

type RoomListChange = (rooms: RoomListItem[]) => RoomListItem[]

/** One list per `rooms.list` request out: the changes made to the list meanwhile, in order. */
const changesWhileAsked = new Set<RoomListChange[]>()

/**
 * Changes the room list held. `remade: false` for a change the server's list
 * should win over, even one read before it: this page's own read marker (the
 * server's unread count and marker place the "New" line a room opens at).
 */
export function updateRoomList(
  qc: QueryClient,
  fn: RoomListChange,
  { remade = true }: { remade?: boolean } = {},
): void {
  if (remade) for (const changes of changesWhileAsked) changes.push(fn)
  setTrpcData(qc, 'rooms.list', undefined, (old) => (old ? fn(old) : old))
}

/**
 * A `rooms.list` answer with the changes made to the list while it was on
 * its way made again over it. The server read the list at some moment while
 * the request was out, so what the page heard or did meanwhile may be newer:
 * a room added on the user's stream would vanish, a room left come back, an
 * unread count go back, until the next news of the room (this page's own read
 * marker excepted: see `updateRoomList`). Making a change the
 * answer already holds again leaves it as it is: events carry the state they
 * set (or are kept back by the room's seq), and the user's stream brings them
 * in order, so an older one made again is followed by the newer one.
 */
export async function withChangesWhileAsked(
  answer: Promise<RoomListItem[]>,
): Promise<RoomListItem[]> {
  const changes: RoomListChange[] = []
  changesWhileAsked.add(changes)
  try {
    const fresh = await answer
    return changes.reduce((rooms, change) => change(rooms), fresh)
  } finally {
    changesWhileAsked.delete(changes)
  }
}

export function patchRoom(
  qc: QueryClient,
  roomId: string,
  patch: Partial<RoomListItem> | ((r: RoomListItem) => Partial<RoomListItem>),
  options?: { remade?: boolean },
): void {
  updateRoomList(
    qc,
    (rooms) =>
      sortRooms(
        rooms.map((r) =>
          r.id === roomId ? { ...r, ...(typeof patch === 'function' ? patch(r) : patch) } : r,
        ),
      ),
    options,
  )
}

/**
 * A room's new name and topic, from its room.updated event. The same change
 * comes by the room's stream and the user's, each in order, so whichever
 * brings it last leaves the newest. Not kept back by the room's seq: our own
 * message, acknowledged first, may have moved it past the change.
 */
export function renameRoom(
  qc: QueryClient,
  event: { roomId: string; seq: number; name: string; topic: string | null },
): void {
  patchRoom(qc, event.roomId, (r) => ({
    name: event.name,
    topic: event.topic,
    seq: Math.max(r.seq, event.seq),
  }))
}

/** A message of ours or from an event becomes the room's last message. */
export function bumpRoom(qc: QueryClient, message: Message): void {
  patchRoom(qc, message.roomId, (r) =>
    message.seq >= (r.lastMessage?.seq ?? 0)
      ? {
          lastMessage: message,
          seq: Math.max(r.seq, message.seq),
          lastActivityAt:
            message.createdAt > r.lastActivityAt ? message.createdAt : r.lastActivityAt,
        }
      : {},
  )
}

export const membersKey = (roomId: string) => trpcKey('rooms.members', { roomId })
/** Every cached member list, whatever the room. */
export const allMembersKey = () => trpcPathKey('rooms.members')

export function updateMembers(
  qc: QueryClient,
  roomId: string,
  fn: (members: Member[]) => Member[],
): void {
  setTrpcData(qc, 'rooms.members', { roomId }, (old) => (old ? fn(old) : old))
}

/**
 * One user's rows in every cached member list, whatever the room: `patch`
 * where `differs` says a row is out of date. A list with nothing to change is
 * kept as it is (nothing re-renders).
 */
function patchMemberRows(
  qc: QueryClient,
  userId: string,
  differs: (m: Member) => boolean,
  patch: Partial<Member>,
): void {
  qc.setQueriesData<Member[]>({ queryKey: allMembersKey() }, (old) =>
    old?.some((m) => m.user.id === userId && differs(m))
      ? old.map((m) => (m.user.id === userId ? { ...m, ...patch } : m))
      : old,
  )
}

/**
 * Someone's new name in every member list held and in the direct rooms
 * shared with them (their title names the other person). Messages keep the
 * name they were sent with.
 */
export function renameUser(qc: QueryClient, user: PublicUser): void {
  patchMemberRows(qc, user.id, (m) => m.user.displayName !== user.displayName, { user })
  const withThem = (r: RoomListItem) => r.directPeople?.some((p) => p.id === user.id)
  updateRoomList(qc, (rooms) =>
    rooms.some(withThem)
      ? rooms.map((r) =>
          r.directPeople && withThem(r)
            ? { ...r, directPeople: r.directPeople.map((p) => (p.id === user.id ? user : p)) }
            : r,
        )
      : rooms,
  )
}

/** Presence reaches every cached member list the user appears in. */
export function setPresence(qc: QueryClient, userId: string, online: boolean): void {
  patchMemberRows(qc, userId, (m) => m.online !== online, { online })
}
