import { z } from 'zod'
import { isBlankMessage, LIMITS, USERNAME_PATTERN } from './limits.ts'

/** Hex ObjectId as a string: validated before it reaches MongoDB. */
export const Id = z.string().regex(/^[0-9a-f]{24}$/, 'must be a 24-character hex id')

export const Username = z
  .string()
  .min(LIMITS.usernameMin)
  .max(LIMITS.usernameMax)
  .regex(new RegExp(`^${USERNAME_PATTERN}$`), 'letters, digits, _ . - only')
  .transform((s) => s.toLowerCase())

export const Password = z.string().min(LIMITS.passwordMin).max(LIMITS.passwordMax)

/** The name shown for a user: anything printable, trimmed, 1–64 characters. */
export const DisplayName = z.string().trim().min(1).max(LIMITS.displayNameMax)

export const RegisterInput = z
  .object({
    username: Username,
    password: Password,
    displayName: DisplayName.optional(),
  })
  .strict()
export type RegisterInput = z.input<typeof RegisterInput>

export const LoginInput = z
  .object({ username: z.string().min(1).max(LIMITS.usernameMax).transform((s) => s.toLowerCase()), password: z.string().min(1).max(LIMITS.passwordMax) })
  .strict()
export type LoginInput = z.input<typeof LoginInput>

/** A new password for the signed-in user, who proves it is them with the current one. */
export const ChangePasswordInput = z
  .object({
    currentPassword: z.string().min(1).max(LIMITS.passwordMax),
    newPassword: Password,
  })
  .strict()
export type ChangePasswordInput = z.input<typeof ChangePasswordInput>

/** A new name to be shown as (messages sent before keep the name they were sent with). */
export const UpdateProfileInput = z.object({ displayName: DisplayName }).strict()
export type UpdateProfileInput = z.input<typeof UpdateProfileInput>

/** One of the user's sessions, by the public half of its token (what `auth.sessions` lists). */
export const EndSessionInput = z
  .object({ sessionId: z.string().regex(/^[a-z2-7]{24}$/, 'must be a session id') })
  .strict()

export const Visibility = z.enum(['public', 'private'])
export type Visibility = z.infer<typeof Visibility>

const RoomName = z.string().trim().min(1).max(LIMITS.roomNameMax)
const RoomTopic = z.string().trim().max(LIMITS.roomTopicMax)

export const CreateRoomInput = z
  .object({
    name: RoomName,
    topic: RoomTopic.optional(),
    visibility: Visibility,
  })
  .strict()
export type CreateRoomInput = z.input<typeof CreateRoomInput>

/** A field left out stays as it is; an empty topic (or null) clears it. */
export const UpdateRoomInput = z
  .object({
    roomId: Id,
    name: RoomName.optional(),
    topic: RoomTopic.nullable()
      .optional()
      .transform((t) => (t === '' ? null : t)),
  })
  .strict()
  .refine((i) => i.name !== undefined || i.topic !== undefined, 'Give a name or a topic to change')
export type UpdateRoomInput = z.input<typeof UpdateRoomInput>

export const RoomIdInput = z.object({ roomId: Id }).strict()
export type RoomIdInput = z.infer<typeof RoomIdInput>

export const BrowseRoomsInput = z
  .object({ query: z.string().trim().max(LIMITS.searchQueryMax).optional(), cursor: Id.nullish(), limit: z.number().int().min(1).max(LIMITS.pageSizeMax).default(20) })
  .strict()
  .default({ limit: 20 })

export const InviteInput = z.object({ roomId: Id, username: Username }).strict()
export const DirectInput = z.object({ username: Username }).strict()
export const MarkReadInput = z.object({ roomId: Id, seq: z.number().int().min(0) }).strict()
export const SetMutedInput = z.object({ roomId: Id, muted: z.boolean() }).strict()
export const Role = z.enum(['owner', 'admin', 'member'])
export type Role = z.infer<typeof Role>
export const KickInput = z.object({ roomId: Id, userId: Id }).strict()
export const SetRoleInput = z.object({ roomId: Id, userId: Id, role: z.enum(['admin', 'member']) }).strict()

export const MessageBody = z
  .string()
  .max(LIMITS.messageBodyMax)
  .refine((s) => !isBlankMessage(s), 'message is empty')

export const SendMessageInput = z
  .object({ roomId: Id, clientId: z.string().min(1).max(LIMITS.clientIdMax), body: MessageBody })
  .strict()
export type SendMessageInput = z.infer<typeof SendMessageInput>

export const ListMessagesInput = z
  .object({ roomId: Id, before: z.number().int().min(1).optional(), limit: z.number().int().min(1).max(LIMITS.pageSizeMax).default(LIMITS.pageSizeDefault) })
  .strict()
export type ListMessagesInput = z.input<typeof ListMessagesInput>

/** messages.search: words to find in a room's messages (any case), newest first; `before` is the previous page's `nextBefore`. */
export const SearchMessagesInput = z
  .object({
    roomId: Id,
    query: z.string().trim().min(1, 'Type something to search for').max(LIMITS.searchQueryMax),
    before: z.number().int().min(1).optional(),
    limit: z.number().int().min(1).max(LIMITS.searchPageMax).default(20),
  })
  .strict()
export type SearchMessagesInput = z.input<typeof SearchMessagesInput>

export const EditMessageInput = z.object({ messageId: Id, body: MessageBody }).strict()
export const MessageIdInput = z.object({ messageId: Id }).strict()
/** One emoji (or a short :code:); no `.` or `$`, which MongoDB field names cannot carry. */
export const Emoji = z
  .string()
  .min(1)
  .max(LIMITS.emojiMax)
  .regex(/^[^.$\s\p{Cc}]+$/u, 'not an emoji')
  // Used as a key of the message's reactions map: never one that means something to JavaScript objects.
  .refine((s) => !['__proto__', 'constructor', 'prototype'].includes(s), 'not an emoji')
export const ReactInput = z.object({ messageId: Id, emoji: Emoji, on: z.boolean() }).strict()

/** `lastEventId` is the room seq of the last event the client saw, as a string (tRPC tracked id). */
export const RoomEventsInput = z
  .object({ roomId: Id, lastEventId: z.string().regex(/^\d{1,15}$/).nullish() })
  .strict()
export const TypingInput = RoomIdInput
