/**
 * Pure rules for changes that wait in the outbox: how they show over the
 * server's messages, and which queued change a newer one makes pointless.
 *
 * The timeline cache holds only what the server said; queued edits, deletes
 * and reactions are laid over it when shown. So a refetch never undoes a
 * change still on its way, a reload offline shows it again (the outbox is in
 * IndexedDB), and dropping a refused change is its rollback.
 */
import type { Message } from '@parley/schemas'
import type { OutboxAction, OutboxDelete, OutboxItem, OutboxSend } from '../offline/db.ts'
import { tombstone, toggleReaction } from './timeline.ts'

export const isAction = (item: OutboxItem): item is OutboxAction => item.kind !== 'send'

/**
 * Per room, the newest message the user wrote that the server does not have
 * yet (waiting, or refused): until it has, the room list shows it as the
 * room's last. A discarded send is out of sight. The queue is in the order
 * things were done, so the last of a room's is its newest.
 */
export function newestUnsent(items: readonly OutboxItem[]): Map<string, OutboxSend> {
  const newest = new Map<string, OutboxSend>()
  for (const item of items)
    if (item.kind === 'send' && !item.discarded) newest.set(item.roomId, item)
  return newest
}

function apply(m: Message, a: OutboxAction): Message {
  if (m.deleted) return m
  switch (a.kind) {
    case 'edit':
      return { ...m, body: a.body, editedAt: a.createdAt }
    case 'delete':
      return tombstone(m)
    case 'react':
      return { ...m, reactions: toggleReaction(m.reactions, a.emoji, a.userId, a.on) }
  }
}

/** Messages as the user expects them: each queued change applied, in order. */
export function withPending(
  messages: readonly Message[],
  actions: readonly OutboxAction[],
): readonly Message[] {
  if (!actions.length) return messages
  const byMessage = new Map<string, OutboxAction[]>()
  for (const a of actions) byMessage.set(a.messageId, [...(byMessage.get(a.messageId) ?? []), a])
  return messages.map((m) => byMessage.get(m.id)?.reduce(apply, m) ?? m)
}

/**
 * The deletes that sends the user deleted while the server may have them
 * wait on (the outbox's discard()): a message of theirs already in the
 * timeline (its event came, its answer did not) shows as being deleted, as
 * any message with a delete on its way does.
 */
export function discardedDeletes(
  messages: readonly Message[],
  discarded: readonly OutboxSend[],
): OutboxDelete[] {
  if (!discarded.length) return []
  const sends = new Map(discarded.map((s) => [s.clientId, s]))
  return messages.flatMap((m): OutboxDelete[] => {
    const send = sends.get(m.clientId)
    if (!send) return []
    const { clientId, roomId, order, createdAt } = send
    return [
      { kind: 'delete', messageId: m.id, clientId, roomId, order, createdAt, status: 'pending' },
    ]
  })
}

const WEIGHT = { react: 0, edit: 1, delete: 2 } as const

/** The change each message waits on, for its status line: a delete outweighs an edit, an edit a reaction. */
export function pendingChanges(actions: readonly OutboxAction[]): Map<string, OutboxAction> {
  const out = new Map<string, OutboxAction>()
  for (const a of actions) {
    const seen = out.get(a.messageId)
    if (!seen || WEIGHT[a.kind] >= WEIGHT[seen.kind]) out.set(a.messageId, a)
  }
  return out
}

/**
 * A queued change that `next` makes pointless: a delete replaces everything
 * queued for the message, an edit an earlier edit, a reaction an earlier
 * toggle of the same emoji (each carries its final state, so the last wins).
 */
export function supersedes(next: OutboxAction, queued: OutboxItem): boolean {
  if (!isAction(queued) || queued.messageId !== next.messageId) return false
  if (next.kind === 'delete') return true
  if (next.kind === 'react') return queued.kind === 'react' && queued.emoji === next.emoji
  return queued.kind === next.kind
}
