/** Channels the bus itself uses, next to the application's `room:*` / `user:*`. */

/** Presence transitions (`PresenceChange`), cluster-wide. Always subscribed. */
export const PRESENCE_CHANNEL = 'presence'

/** Each node's own heartbeat, which only that node listens to. */
export const heartbeatChannel = (nodeId: string): string => `bus:hb:${nodeId}`
