/** Test harness shared by every package: real servers on free ports, real clients. */
export * from './redis.ts'
export * from './clients.ts'
export * from './subscriptions.ts'
export * from './cluster.ts'
export * from './mongo.ts'
export * from './ports.ts'
