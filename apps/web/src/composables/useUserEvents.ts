import { useQueryClient } from '@tanstack/vue-query'
import { ref, watch } from 'vue'
import { useRouter } from 'vue-router'
import type { UserEvent } from '@parley/schemas'
import {
  allMembersKey,
  getRoomList,
  patchRoom,
  roomListKey,
  setPresence,
  sortRooms,
  updateRoomList,
} from '../lib/cache.ts'
import { errorCode } from '../lib/errors.ts'
import { notifyMessage } from '../lib/notifications.ts'
import { applyRoomUpdate, awaitsFirstMessage, roomTitle } from '../lib/rooms.ts'
import { toast } from '../lib/toast.ts'
import { untrack, useTrpcSubscription } from '../lib/trpc-query.ts'
import { forgetRoom } from '../offline/db.ts'
import { useConnectionStore } from '../stores/connection.ts'
import { useSessionStore } from '../stores/session.ts'
import { activeRoomId, isActiveRoom } from './useActiveRoom.ts'

/**
 * `events.user`: keeps the room list live (unread, last message, rooms
 * added/removed) and presence in member lists. Not resumable, so after every
 * reconnect `rooms.list` and the member lists are refetched instead.
 */
export function useUserEvents(): void {
  const session = useSessionStore()
  const connection = useConnectionStore()
  const qc = useQueryClient()
  const router = useRouter()

  /** What the stream may have missed while it was down: refetched (open) or marked stale (closed). */
  function catchUp(): void {
    void qc.invalidateQueries({ queryKey: roomListKey() })
    // Presence is news, not state: someone who came or went meanwhile shows so only after a refetch.
    void qc.invalidateQueries({ queryKey: allMembersKey() })
  }

  function apply(event: UserEvent): void {
    switch (event.type) {
      case 'room.activity': {
        const room = getRoomList(qc)?.find((r) => r.id === event.roomId)
        if (!room) {
          void qc.invalidateQueries({ queryKey: roomListKey() })
          return
        }
        // With a message, one just written (the server sends one per new message): someone
        // else's is news for a user who is not looking.
        const meId = session.user?.id
        if (event.lastMessage && event.lastMessage.author.id !== meId) {
          const where = { title: roomTitle(room, meId), direct: room.direct, muted: room.muted }
          void notifyMessage(event.lastMessage, where, session.user?.username)
          // The conversation shows in the list from its first word: that is when it is news.
          if (awaitsFirstMessage(room, meId) && !isActiveRoom(room.id))
            toast(`${event.lastMessage.author.displayName} started a conversation with you`)
        }
        patchRoom(qc, event.roomId, (r) => ({
          seq: Math.max(r.seq, event.seq),
          unread: isActiveRoom(event.roomId) ? 0 : event.unread,
          lastMessage: event.lastMessage ?? r.lastMessage,
          // Without a message (the user's own read marker, a recount after the
          // server lost events) nothing was written: the room keeps its place.
          lastActivityAt: event.lastMessage?.createdAt ?? r.lastActivityAt,
        }))
        return
      }
      case 'room.added': {
        const listed = getRoomList(qc)?.some((r) => r.id === event.room.id)
        updateRoomList(qc, (rooms) =>
          sortRooms([...rooms.filter((r) => r.id !== event.room.id), event.room]),
        )
        // Added by someone else is news, as being removed is (on a phone the list may be out of
        // sight); a conversation opened with the user is news at its first message (room.activity).
        if (event.by && !listed && !awaitsFirstMessage(event.room, session.user?.id)) {
          const who = event.by.displayName
          toast(
            event.room.direct
              ? `${who} started a conversation with you`
              : `${who} added you to ${event.room.name}`,
          )
        }
        return
      }
      case 'room.removed': {
        const gone = getRoomList(qc)?.find((r) => r.id === event.roomId)
        // Leaving is one's own doing; being removed is news.
        if (event.reason === 'kicked' && gone) toast(`You were removed from ${gone.name}`)
        updateRoomList(qc, (rooms) => rooms.filter((r) => r.id !== event.roomId))
        void forgetRoom(event.roomId)
        if (activeRoomId.value === event.roomId) void router.replace({ name: 'home' })
        return
      }
      case 'room.updated':
        applyRoomUpdate(qc, event, session.user?.id, isActiveRoom(event.roomId))
        return
      case 'room.muted':
        patchRoom(qc, event.roomId, { muted: event.muted })
        return
      case 'presence':
        setPresence(qc, event.userId, event.status === 'online')
        return
      case 'profile.updated':
        session.renamed(event.user)
        return
      case 'session.revoked':
        // Signed out here: useAppSync takes the app to the sign-in form.
        session.revoked()
        return
    }
  }

  // A stream that failed otherwise (the server could not load the user's rooms)
  // is asked for again after a pause, 2 s doubling to 30 s; once it starts, the
  // room list and member lists are refetched for what it missed meanwhile.
  const resting = ref(false)
  let failures = 0
  useTrpcSubscription('events.user', undefined, {
    enabled: () => session.signedIn && !resting.value,
    onStarted: () => {
      if (failures === 0) return
      failures = 0
      catchUp()
    },
    onData: (value) => apply(untrack(value)),
    onError: (err) => {
      // Refused when the socket came back without a session: it lapsed, or was
      // revoked and the socket's close beat `session.revoked`. Ask the server
      // (a session it says is over signs the app out, as above).
      if (errorCode(err) === 'UNAUTHORIZED') {
        void session.verify()
        return
      }
      resting.value = true
      setTimeout(() => (resting.value = false), Math.min(2000 * 2 ** failures++, 30_000))
    },
  })

  // State catches up, not events: after a reconnect, refetch what the socket may have missed.
  watch(
    () => connection.opens,
    (n) => {
      if (n > 1 && session.signedIn) catchUp()
    },
  )
}
