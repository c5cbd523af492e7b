import { useRouter } from 'vue-router'
import { confirmAction } from '../lib/confirm.ts'
import type { OutboxItem } from '../offline/db.ts'
import { useOutboxStore } from '../stores/outbox.ts'
import { useSessionStore } from '../stores/session.ts'

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** What the outbox still holds, in words ("2 messages and 1 change to a message"). */
function unsentWords(items: OutboxItem[]): string {
  // A discarded send waits only to be deleted on the server: a change, not a message.
  const messages = items.filter((i) => i.kind === 'send' && !i.discarded).length
  const changes = items.length - messages
  return [
    messages && count(messages, 'message', 'messages'),
    changes && count(changes, 'change to a message', 'changes to messages'),
  ]
    .filter(Boolean)
    .join(' and ')
}

/**
 * Signing out here, or on every device, then the sign-in form. Either deletes
 * the outbox with the rest of this device's data (other tabs' items too), so
 * with something waiting it asks first; each resolves false when the user
 * keeps it.
 */
export function useSignOut() {
  const session = useSessionStore()
  const outbox = useOutboxStore()
  const router = useRouter()

  async function sure(): Promise<boolean> {
    const waiting = await outbox.waiting()
    if (!waiting.length) return true
    const one = waiting.length === 1
    return confirmAction({
      title: 'Sign out?',
      body: `${unsentWords(waiting)} ${one ? "hasn't" : "haven't"} been sent yet. Signing out deletes ${one ? 'it' : 'them'} from this device.`,
      action: 'Sign out',
    })
  }

  async function signOutWith(end: () => Promise<void>): Promise<boolean> {
    if (!(await sure())) return false
    await end()
    await router.replace({ name: 'signin' })
    return true
  }

  return {
    /** Works offline: the server hears of it when it can be reached. */
    signOut: () => signOutWith(session.logout),
    /** Needs the server: offline or refused, it throws and nothing changes. */
    signOutEverywhere: () => signOutWith(session.logoutEverywhere),
  }
}
