import { authRouter } from './routers/auth.ts'
import { eventsRouter, typingRouter } from './routers/events.ts'
import { messagesRouter } from './routers/messages.ts'
import { roomsRouter } from './routers/rooms.ts'
import { systemRouter } from './routers/system.ts'
import { router } from './trpc.ts'

export const appRouter = router({
  system: systemRouter,
  auth: authRouter,
  rooms: roomsRouter,
  messages: messagesRouter,
  events: eventsRouter,
  typing: typingRouter,
})

export type AppRouter = typeof appRouter
