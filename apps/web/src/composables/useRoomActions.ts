import { useQueryClient } from '@tanstack/vue-query'
import { toValue, type MaybeRefOrGetter } from 'vue'
import { useRouter } from 'vue-router'
import type { Member, Message } from '@parley/schemas'
import { getRoomList, patchRoom, updateRoomList } from '../lib/cache.ts'
import { confirmAction } from '../lib/confirm.ts'
import { errorMessage } from '../lib/errors.ts'
import { addRoomToList } from '../lib/rooms.ts'
import { toast } from '../lib/toast.ts'
import { callMutation } from '../lib/trpc-query.ts'
import { forgetRoom } from '../offline/db.ts'
import { mayBePosted, useOutboxStore } from '../stores/outbox.ts'
import { useSessionStore } from '../stores/session.ts'

const TYPING_EVERY_MS = 3000

/**
 * What a user does in a room. Messages, edits, deletes and reactions go
 * through the outbox: they show at once, wait out a lost connection and are
 * sent in order (see stores/outbox.ts).
 */
export function useRoomActions(roomId: MaybeRefOrGetter<string>) {
  const qc = useQueryClient()
  const outbox = useOutboxStore()
  const session = useSessionStore()
  const router = useRouter()

  /** Settles once the device holds the message (or could not: the outbox says so). */
  function send(body: string): Promise<unknown> {
    return outbox.enqueue(toValue(roomId), body)
  }

  let lastTyping = 0
  function typing() {
    const now = Date.now()
    if (now - lastTyping < TYPING_EVERY_MS || !navigator.onLine) return
    lastTyping = now
    callMutation('typing.start', { roomId: toValue(roomId) }).catch(() => {})
  }
  function stoppedTyping() {
    lastTyping = 0
  }

  function edit(message: Message, body: string) {
    void outbox.edit(message, body)
  }

  async function remove(message: Message) {
    const unsent = outbox.unsent(message)
    const sure = await confirmAction({
      title: 'Delete message?',
      body: !unsent
        ? 'It will be removed for everyone in the room.'
        : mayBePosted(unsent)
          ? 'It may already have reached the room: it will be removed there too.'
          : "It hasn't been sent yet, so nobody else will see it.",
      action: 'Delete',
    })
    if (sure) await outbox.remove(message)
  }

  function react(message: Message, emoji: string, on: boolean) {
    const me = session.user?.id
    if (me) void outbox.react(message, emoji, on, me)
  }

  async function join() {
    try {
      addRoomToList(qc, await callMutation('rooms.join', { roomId: toValue(roomId) }))
    } catch (err) {
      toast(`Could not join: ${errorMessage(err)}`, 'error')
    }
  }

  async function leave() {
    const id = toValue(roomId)
    const item = getRoomList(qc)?.find((r) => r.id === id)
    const sure = await confirmAction({
      title: 'Leave this room?',
      body:
        item?.role !== 'owner'
          ? 'It leaves your list, and its messages stop coming to you.'
          : item.memberCount <= 1
            ? "You're the last one in it: it stays, and whoever joins it next owns it."
            : 'You own it: it passes to its longest-standing admin, or member, and leaves your list.',
      action: 'Leave',
    })
    if (!sure) return
    try {
      await callMutation('rooms.leave', { roomId: id })
      updateRoomList(qc, (rooms) => rooms.filter((r) => r.id !== id))
      void forgetRoom(id)
      await router.replace({ name: 'home' })
    } catch (err) {
      toast(`Could not leave: ${errorMessage(err)}`, 'error')
    }
  }

  /**
   * Mutes the room for this user, or unmutes it: its messages then raise no
   * notification (one naming them still does) and stay out of the app's
   * badge. The user's other devices hear `room.muted`.
   */
  async function setMuted(muted: boolean) {
    const id = toValue(roomId)
    try {
      const done = await callMutation('rooms.setMuted', { roomId: id, muted })
      patchRoom(qc, id, { muted: done.muted })
      toast(
        done.muted ? "Muted: its messages won't notify you, unless they mention you" : 'Unmuted',
      )
    } catch (err) {
      toast(`Could not ${muted ? 'mute' : 'unmute'} the room: ${errorMessage(err)}`, 'error')
    }
  }

  /** Removes someone from the room (asked first); the room's member.left updates every list. */
  async function kick(member: Member) {
    const sure = await confirmAction({
      title: `Remove ${member.user.displayName}?`,
      body: 'They leave the room at once and stop getting its messages.',
      action: 'Remove',
    })
    if (!sure) return
    try {
      await callMutation('rooms.kick', { roomId: toValue(roomId), userId: member.user.id })
    } catch (err) {
      toast(`Could not remove ${member.user.displayName}: ${errorMessage(err)}`, 'error')
    }
  }

  /** Makes someone an admin or a plain member again; member.updated brings the change. */
  async function setRole(member: Member, role: 'admin' | 'member') {
    try {
      await callMutation('rooms.setRole', { roomId: toValue(roomId), userId: member.user.id, role })
    } catch (err) {
      toast(`Could not change ${member.user.displayName}'s role: ${errorMessage(err)}`, 'error')
    }
  }

  return { send, typing, stoppedTyping, edit, remove, react, join, leave, setMuted, kick, setRole }
}
