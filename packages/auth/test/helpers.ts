/** Shared set-up for the auth tests: a real embedded MongoDB and the real in-process bus. */
import { createMemoryBus } from '@parley/bus'
import type { Bus } from '@parley/bus'
import { connectDatabase, type Database } from '@parley/db'
import { startEmbeddedMongo } from '@parley/embedded-mongo'
import { createAuth, type AuthInstance, type CreateAuthOptions } from '../src/index.ts'

export const CHEAP_HASH = { memoryCost: 1024, timeCost: 1, parallelism: 1 }

export interface Harness {
  database: Database
  bus: Bus
  /** An Auth over the shared database; cheap hashes and generous limits unless overridden. */
  auth(overrides?: Partial<CreateAuthOptions>): AuthInstance
  close(): Promise<void>
}

let dbCounter = 0

export async function startHarness(): Promise<Harness> {
  const mongo = await startEmbeddedMongo({ port: 0 })
  const database = await connectDatabase({
    url: mongo.url,
    dbName: `auth_test_${process.pid}_${++dbCounter}`,
  })
  const bus = createMemoryBus({ nodeId: 'auth-test' })
  const instances: AuthInstance[] = []
  return {
    database,
    bus,
    auth(overrides = {}) {
      const a = createAuth({
        database,
        bus,
        secureCookies: false,
        hash: CHEAP_HASH,
        loginLimits: { perUser: 1000, perIp: 10_000, windowMs: 60_000 },
        ...overrides,
      })
      instances.push(a)
      return a
    },
    async close() {
      for (const a of instances) a.close()
      await bus.close()
      await database.close()
      await mongo.stop()
    },
  }
}

let nameCounter = 0
/** A fresh valid username. */
export const uniqueName = (prefix = 'u'): string => `${prefix}${process.pid}_${++nameCounter}`

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Waits until `check` returns true (polling), or fails after `timeoutMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 3000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}
