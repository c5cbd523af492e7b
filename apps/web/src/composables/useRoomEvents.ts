import { useQueryClient } from '@tanstack/vue-query'
import {
  computed,
  onScopeDispose,
  ref,
  toValue,
  watchEffect,
  type ComputedRef,
  type MaybeRefOrGetter,
} from 'vue'
import type { PublicUser, ResetEvent, RoomEvent, RoomStreamEvent } from '@parley/schemas'
import {
  bumpRoom,
  getRoomList,
  getTimeline,
  membersKey,
  patchRoom,
  timelineKey,
  updateMembers,
  updateTimeline,
} from '../lib/cache.ts'
import { applyRoomUpdate } from '../lib/rooms.ts'
import { applyRoomEvent } from '../lib/timeline.ts'
import { subscribe, untrack } from '../lib/trpc-query.ts'
import { generation } from '../lib/trpc.ts'
import { getLastSeq, resetRoom, setLastSeq } from '../offline/db.ts'
import { useSessionStore } from '../stores/session.ts'
import { isActiveRoom } from './useActiveRoom.ts'

export interface UseRoomEventsOptions {
  roomId: MaybeRefOrGetter<string>
  /** Default true. */
  enabled?: MaybeRefOrGetter<boolean>
}

export interface UseRoomEventsReturn {
  /** Others typing in the room right now. */
  typers: ComputedRef<PublicUser[]>
  /** Highest event seq applied (null until known). */
  lastSeq: ComputedRef<number | null>
}

/** The last applied seq per room, for this page's lifetime (IndexedDB holds it across reloads). */
const seenSeq = new Map<string, number>()

/**
 * `events.room` for one room: resumes from the seq stored in IndexedDB, folds
 * each event into the Vue Query cache (timeline, members, room list), stores
 * the seq, and on `reset` refetches and resubscribes from the reset's seq.
 */
export function useRoomEvents(options: UseRoomEventsOptions): UseRoomEventsReturn {
  const qc = useQueryClient()
  const session = useSessionStore()
  const restarts = ref(0)
  const seq = ref<number | null>(null)
  const typing = ref(new Map<string, { user: PublicUser; until: number }>())
  const now = ref(Date.now())
  let ticker: ReturnType<typeof setInterval> | undefined
  const saveTimers = new Map<string, ReturnType<typeof setTimeout>>()

  /**
   * A join or leave moves the listed room's member count once: the count the
   * server gave already holds every change up to the room's seq, and a resume
   * replays events from before it (the owner's own join, for one).
   */
  function countMember(roomId: string, eventSeq: number, delta: 1 | -1): void {
    patchRoom(qc, roomId, (r) =>
      eventSeq > r.seq ? { memberCount: Math.max(0, r.memberCount + delta), seq: eventSeq } : {},
    )
  }

  function saw(roomId: string, eventSeq: number): void {
    if (eventSeq <= (seenSeq.get(roomId) ?? -1)) return
    seenSeq.set(roomId, eventSeq)
    if (roomId === toValue(options.roomId)) seq.value = eventSeq
    if (!saveTimers.has(roomId)) {
      saveTimers.set(
        roomId,
        setTimeout(() => {
          saveTimers.delete(roomId)
          void setLastSeq(roomId, seenSeq.get(roomId) ?? eventSeq)
        }, 250),
      )
    }
  }

  function applyPersisted(event: RoomEvent): void {
    const { roomId } = event
    if (event.type.startsWith('message.') || event.type === 'reaction') {
      if (!getTimeline(qc, roomId) && event.type === 'message.created') {
        qc.setQueryData(timelineKey(roomId), { messages: [event.message], hasMore: true })
      } else {
        updateTimeline(qc, roomId, (t) => {
          const messages = applyRoomEvent(t.messages, event)
          return messages === t.messages ? t : { ...t, messages }
        })
      }
    }
    switch (event.type) {
      case 'message.created':
        bumpRoom(qc, event.message)
        clearTyping(event.message.author.id)
        break
      case 'member.joined':
        // Someone already listed keeps what presence says of them: a join replayed on a
        // resume is old news, and would show someone who has since gone as online.
        updateMembers(qc, roomId, (ms) => {
          const listed = ms.find((m) => m.user.id === event.member.user.id)
          return [
            ...ms.filter((m) => m !== listed),
            { ...event.member, online: listed?.online ?? true },
          ]
        })
        countMember(roomId, event.seq, +1)
        break
      case 'member.left':
        updateMembers(qc, roomId, (ms) => ms.filter((m) => m.user.id !== event.userId))
        countMember(roomId, event.seq, -1)
        break
      case 'member.updated':
        updateMembers(qc, roomId, (ms) =>
          ms.map((m) => (m.user.id === event.userId ? { ...m, role: event.role } : m)),
        )
        // Our own new role decides what the room lets us do (invite, moderate).
        if (event.userId === session.user?.id) patchRoom(qc, roomId, { role: event.role })
        break
      case 'room.updated':
        applyRoomUpdate(qc, event, session.user?.id, isActiveRoom(roomId))
        break
    }
    saw(roomId, event.seq)
  }

  async function applyReset(event: ResetEvent): Promise<void> {
    seenSeq.set(event.roomId, event.seq)
    // Replace, don't merge: all we hold predates the reset, and after a reset
    // store the same seqs are other messages. Events from here on build on
    // nothing until the fresh page lands under them.
    updateTimeline(qc, event.roomId, () => ({ messages: [], hasMore: true, fromCache: true }))
    await resetRoom(event.roomId, event.seq, event.epoch).catch(() => {})
    await Promise.all([
      qc.refetchQueries({ queryKey: timelineKey(event.roomId) }),
      qc.invalidateQueries({ queryKey: membersKey(event.roomId) }),
    ])
    restarts.value++
  }

  /** The newest seq of the room's freshly loaded history (0 if empty); null if it does not load in time. */
  function loadedSeq(roomId: string): Promise<number | null> {
    const ready = (): number | null => {
      const t = getTimeline(qc, roomId)
      return t && !t.fromCache ? (t.messages.at(-1)?.seq ?? 0) : null
    }
    const now = ready()
    if (now != null) return Promise.resolve(now)
    return new Promise((resolve) => {
      const done = (value: number | null) => {
        clearTimeout(timer)
        unsubscribe()
        resolve(value)
      }
      const timer = setTimeout(() => done(null), 15_000)
      const unsubscribe = qc.getQueryCache().subscribe(() => {
        const value = ready()
        if (value != null) done(value)
      })
    })
  }

  function clearTyping(userId: string): void {
    if (!typing.value.has(userId)) return
    const next = new Map(typing.value)
    next.delete(userId)
    typing.value = next
  }

  function onTyping(user: PublicUser, expiresInMs: number): void {
    if (user.id === session.user?.id) return
    const next = new Map(typing.value)
    next.set(user.id, { user, until: Date.now() + expiresInMs })
    typing.value = next
    now.value = Date.now()
    ticker ??= setInterval(() => {
      now.value = Date.now()
      const live = [...typing.value.values()].filter((t) => t.until > now.value)
      if (live.length !== typing.value.size) {
        typing.value = new Map(live.map((t) => [t.user.id, t]))
      }
      if (typing.value.size === 0) {
        clearInterval(ticker)
        ticker = undefined
      }
    }, 500)
  }

  function onEvent(value: RoomStreamEvent): void {
    if (value.type === 'typing') onTyping(value.user, value.expiresInMs)
    else if (value.type === 'reset') void applyReset(value)
    else applyPersisted(value)
  }

  watchEffect((onCleanup) => {
    void generation.value
    void restarts.value
    const roomId = toValue(options.roomId)
    if (!toValue(options.enabled ?? true) || !roomId) return
    let stop: (() => void) | undefined
    let cancelled = false
    typing.value = new Map()
    seq.value = seenSeq.get(roomId) ?? null
    void (async () => {
      // Resume point: this page's memory, else IndexedDB (after a reload), else
      // (first visit) the newest message of the history page once it has loaded —
      // not the room list's seq, which can be newer than that page and leave a gap.
      let last = seenSeq.get(roomId) ?? (await getLastSeq(roomId).catch(() => null))
      if (last == null) last = await loadedSeq(roomId)
      if (last == null) last = getRoomList(qc)?.find((r) => r.id === roomId)?.seq ?? null
      if (cancelled) return
      if (last != null) seenSeq.set(roomId, Math.max(last, seenSeq.get(roomId) ?? -1))
      stop = subscribe(
        'events.room',
        last != null ? { roomId, lastEventId: String(last) } : { roomId },
        { onData: (v) => onEvent(untrack(v)) },
      )
    })()
    onCleanup(() => {
      cancelled = true
      stop?.()
    })
  })

  onScopeDispose(() => {
    clearInterval(ticker)
    for (const [roomId, timer] of saveTimers) {
      clearTimeout(timer)
      const s = seenSeq.get(roomId)
      if (s != null) void setLastSeq(roomId, s)
    }
  })

  const typers = computed(() =>
    [...typing.value.values()].filter((t) => t.until > now.value).map((t) => t.user),
  )
  return { typers, lastSeq: computed(() => seq.value) }
}
