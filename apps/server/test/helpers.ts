import { randomUUID } from 'node:crypto'
import type { RoomStreamEvent, UserEvent } from '@parley/schemas'
import { collect } from '@parley/testing'
import type { ApiClient } from './factory.ts'

/** Follows a room's events as a client would. */
export function watchRoom(client: ApiClient, roomId: string, lastEventId?: string) {
  return collect<RoomStreamEvent>((h) => client.trpc.events.room.subscribe({ roomId, lastEventId }, h as never))
}

export function watchUser(client: ApiClient) {
  return collect<UserEvent>((h) => client.trpc.events.user.subscribe(undefined, h as never))
}

export function send(client: ApiClient, roomId: string, body: string, clientId: string = randomUUID()) {
  return client.trpc.messages.send.mutate({ roomId, body, clientId })
}

/** The persisted (seq-carrying) events, in arrival order. */
export function seqsOf(items: RoomStreamEvent[]): number[] {
  return items.flatMap((e) => ('seq' in e && e.type !== 'reset' ? [e.seq] : []))
}

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
