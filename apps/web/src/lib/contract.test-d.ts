/**
 * The web app's procedure types are the router's: what a component gets from
 * `useTrpcQuery('rooms.get', …)` is what the server's procedure returns. A
 * type test (vitest's typecheck, and `pnpm typecheck`): a procedure renamed,
 * retyped or lost on either side fails here, not in a user's browser.
 */
import { describe, expectTypeOf, test } from 'vitest'
import type {
  ListMessagesInput,
  Message,
  PublicUser,
  Room,
  RoomListItem,
  SendMessageInput,
} from '@parley/schemas'
import type { Input, MutationPath, Output, Path, QueryPath, SubscriptionPath } from './contract.ts'

describe('the web app’s procedure types', () => {
  test('every name in the public contract is a procedure of the router, of its kind', () => {
    expectTypeOf<Path>().not.toBeAny()
    expectTypeOf<string>().not.toExtend<Path>()
    expectTypeOf<
      | 'auth.me'
      | 'auth.sessions'
      | 'rooms.list'
      | 'rooms.browse'
      | 'rooms.get'
      | 'rooms.members'
      | 'messages.list'
      | 'system.info'
    >().toExtend<QueryPath>()
    expectTypeOf<
      | 'auth.register'
      | 'auth.login'
      | 'auth.logout'
      | 'auth.logoutAll'
      | 'auth.changePassword'
      | 'auth.endSession'
      | 'rooms.create'
      | 'rooms.join'
      | 'rooms.leave'
      | 'rooms.invite'
      | 'rooms.markRead'
      | 'rooms.direct'
      | 'rooms.kick'
      | 'rooms.setRole'
      | 'messages.send'
      | 'messages.edit'
      | 'messages.delete'
      | 'messages.react'
      | 'typing.start'
    >().toExtend<MutationPath>()
    expectTypeOf<'events.room' | 'events.user'>().toExtend<SubscriptionPath>()
    expectTypeOf<'messages.send'>().not.toExtend<QueryPath>()
    expectTypeOf<'rooms.nope'>().not.toExtend<Path>()
  })

  test('inputs and outputs are the shapes @parley/schemas declares', () => {
    expectTypeOf<Input<'messages.send'>>().toEqualTypeOf<SendMessageInput>()
    expectTypeOf<Input<'messages.list'>>().toEqualTypeOf<ListMessagesInput>()
    expectTypeOf<Output<'messages.send'>>().toEqualTypeOf<Message>()
    expectTypeOf<Output<'rooms.get'>>().toEqualTypeOf<Room>()
    expectTypeOf<Output<'rooms.list'>>().toEqualTypeOf<RoomListItem[]>()
    expectTypeOf<Output<'auth.me'>>().toEqualTypeOf<{ user: PublicUser } | null>()
  })
})
