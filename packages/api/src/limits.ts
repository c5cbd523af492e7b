/** Limits the API enforces; the server reads them from the environment (docs/operations.md). */
export interface ApiLimits {
  /** messages.send and messages.edit per user per window */
  sendPerWindow: number
  sendWindowMs: number
  /** messages.react per user per window */
  reactPerWindow: number
  reactWindowMs: number
  /** rooms.create, rooms.invite, rooms.direct, rooms.join, rooms.leave, rooms.update and rooms.setMuted per user per window (each changes a room list; a join or leave is logged in the room) */
  roomActionsPerWindow: number
  roomActionsWindowMs: number
  /** messages.search per user per window (a search may read a whole room's history) */
  searchPerWindow: number
  searchWindowMs: number
  /** auth.updateProfile per user per window (each new name goes to every node and the user's direct rooms) */
  profilePerWindow: number
  profileWindowMs: number
  /** auth.register per client IP per window */
  registerPerIp: number
  registerWindowMs: number
  /** rooms.members returns at most this many (owners and admins first) */
  membersListMax: number
  /** auth.login failures per username / per IP per window */
  loginPerUser: number
  loginPerIp: number
  loginWindowMs: number
  /** Resuming further behind than this sends one `reset` instead of replaying. */
  resumeMaxEvents: number
  /** A stream over HTTP (server-sent events) ends once this many of its events wait for the client to read them. */
  streamMaxQueued: number
  /** Recent events each watched room keeps in memory for resuming clients. */
  replayBufferEvents: number
  /** How long a room's event that arrives ahead of a missing one waits for it on the bus before the log is read. */
  gapWaitMs: number
  /** How long a `typing` signal shows. */
  typingMs: number
  /** typing.start per user per window */
  typingPerWindow: number
  typingWindowMs: number
  /** How long a membership check may be served from cache on hot paths. */
  membershipCacheMs: number
  /** Entries the membership cache holds at most (~1 KB each); when full it starts over empty. */
  membershipCacheMaxEntries: number
  /** events.user: users whose rooms and unread counts a node loads at once (a reconnecting crowd waits its turn). */
  userStreamLoads: number
  /**
   * Presence changes travel through rooms of at most this many members; in
   * bigger rooms the member list shows presence as of when it was loaded
   * (a crowd coming online in a room of n would otherwise cost n² frames).
   */
  presenceRoomMaxMembers: number
}

export const DEFAULT_LIMITS: ApiLimits = {
  sendPerWindow: 30,
  sendWindowMs: 10_000,
  reactPerWindow: 60,
  reactWindowMs: 10_000,
  roomActionsPerWindow: 30,
  roomActionsWindowMs: 60_000,
  searchPerWindow: 20,
  searchWindowMs: 60_000,
  profilePerWindow: 10,
  profileWindowMs: 15 * 60_000,
  registerPerIp: 20,
  registerWindowMs: 60 * 60_000,
  membersListMax: 5000,
  loginPerUser: 5,
  loginPerIp: 30,
  loginWindowMs: 15 * 60_000,
  resumeMaxEvents: 500,
  streamMaxQueued: 4096,
  replayBufferEvents: 256,
  gapWaitMs: 50,
  typingMs: 5000,
  typingPerWindow: 20,
  typingWindowMs: 10_000,
  membershipCacheMs: 30_000,
  membershipCacheMaxEntries: 100_000,
  userStreamLoads: 16,
  presenceRoomMaxMembers: 100,
}
