/**
 * The procedures the web app calls, typed end to end. Every path the server's
 * `AppRouter` already has is typed from the router itself; paths it does not
 * have yet fall back to the `@parley/schemas` shapes below, so the client can
 * be built ahead of the server and switches to the router's types by itself.
 */
import type { AppRouter } from '@parley/api'
import type {
  AnyProcedure,
  inferProcedureInput,
  inferTransformedProcedureOutput,
} from '@trpc/server'
import type {
  CreateRoomInput,
  ListMessagesInput,
  LoginInput,
  Member,
  Message,
  PublicUser,
  RegisterInput,
  ResetEvent,
  Role,
  Room,
  RoomEvent,
  RoomListItem,
  SendMessageInput,
  TypingEvent,
  UserEvent,
} from '@parley/schemas'

type Q<I, O> = { type: 'query'; input: I; output: O }
type M<I, O> = { type: 'mutation'; input: I; output: O }
type S<I, O> = { type: 'subscription'; input: I; output: O }

/** What a tracked event looks like on the client: `{ id, data }`. */
export interface Tracked<T> {
  id: string
  data: T
}

interface Fallback {
  'auth.me': Q<void, { user: PublicUser } | null>
  'auth.register': M<RegisterInput, { user: PublicUser }>
  'auth.login': M<LoginInput, { user: PublicUser }>
  'auth.logout': M<void, unknown>
  'auth.logoutAll': M<void, unknown>
  'rooms.list': Q<void, RoomListItem[]>
  'rooms.browse': Q<
    { query?: string; cursor?: string | null; limit?: number },
    { rooms: Room[]; nextCursor: string | null }
  >
  'rooms.get': Q<{ roomId: string }, Room>
  'rooms.members': Q<{ roomId: string }, Member[]>
  'rooms.create': M<CreateRoomInput, RoomListItem>
  'rooms.join': M<{ roomId: string }, RoomListItem>
  'rooms.leave': M<{ roomId: string }, unknown>
  'rooms.invite': M<{ roomId: string; username: string }, unknown>
  'rooms.markRead': M<{ roomId: string; seq: number }, unknown>
  'rooms.direct': M<{ username: string }, RoomListItem>
  'rooms.kick': M<{ roomId: string; userId: string }, unknown>
  'rooms.setRole': M<{ roomId: string; userId: string; role: Exclude<Role, 'owner'> }, unknown>
  'messages.send': M<SendMessageInput, Message>
  'messages.list': Q<ListMessagesInput, { messages: Message[]; hasMore: boolean }>
  'messages.edit': M<{ messageId: string; body: string }, unknown>
  'messages.delete': M<{ messageId: string }, unknown>
  'messages.react': M<{ messageId: string; emoji: string; on: boolean }, unknown>
  'events.room': S<
    { roomId: string; lastEventId?: string | null },
    Tracked<RoomEvent | ResetEvent> | RoomEvent | TypingEvent | ResetEvent
  >
  'events.user': S<void, UserEvent | Tracked<UserEvent>>
  'typing.start': M<{ roomId: string }, unknown>
  'system.info': Q<void, { name: string; version: string; nodeId: string; time: string }>
}

type RouterRecordOf<R> = R extends { _def: { record: infer Rec } } ? Rec : never
type Lookup<Rec, P extends string> = P extends `${infer Head}.${infer Rest}`
  ? Head extends keyof Rec
    ? Lookup<Rec[Head], Rest>
    : never
  : P extends keyof Rec
    ? Rec[P]
    : never
type YieldOf<T> = T extends AsyncIterable<infer U> ? U : T

type FromRouter<Proc extends AnyProcedure> = {
  type: Proc['_def']['type']
  input: inferProcedureInput<Proc>
  output: Proc['_def']['type'] extends 'subscription'
    ? YieldOf<inferTransformedProcedureOutput<AppRouter, Proc>>
    : inferTransformedProcedureOutput<AppRouter, Proc>
}

type Resolve<P extends keyof Fallback> =
  Lookup<RouterRecordOf<AppRouter>, P> extends infer Proc
    ? [Proc] extends [never]
      ? Fallback[P]
      : Proc extends AnyProcedure
        ? FromRouter<Proc>
        : Fallback[P]
    : never

export type Api = { [P in keyof Fallback]: Resolve<P> }
export type Path = keyof Api
export type QueryPath = { [P in Path]: Api[P]['type'] extends 'query' ? P : never }[Path]
export type MutationPath = { [P in Path]: Api[P]['type'] extends 'mutation' ? P : never }[Path]
export type SubscriptionPath = {
  [P in Path]: Api[P]['type'] extends 'subscription' ? P : never
}[Path]
export type Input<P extends Path> = Api[P]['input']
export type Output<P extends Path> = Api[P]['output']
