/** Channels the bus itself uses, next to the application's `room:*` / `user:*`. */

/** Presence transitions (`PresenceChange`), cluster-wide. Always subscribed. */
export const PRESENCE_CHANNEL = 'presence'

/** Each node's own heartbeat, which only that node listens to. */
export const heartbeatChannel = (nodeId: string): string => `bus:hb:${nodeId}`

/**
 * "I dropped publishes; catch up from the database": sent by a node whose
 * publisher was cut off while other nodes' subscribers stayed connected (they
 * have no other way to know they missed something). Always subscribed.
 */
export const RESYNC_CHANNEL = 'bus:resync'
