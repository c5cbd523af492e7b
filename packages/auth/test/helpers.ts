/**
 * Shared set-up for the auth tests: the storage suites' database (real MongoDB
 * at MONGODB_URL when set, else the embedded server) and the real in-process bus.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createMemoryBus } from '@parley/bus'
import type { Bus } from '@parley/bus'
import type { Database } from '@parley/db'
// @parley/db's harness wraps startTestMongo (auth does not depend on @parley/testing itself): a fresh database per suite.
import { openTestDatabase } from '@parley/db/testing'
import { createAuth, type AuthInstance, type CreateAuthOptions } from '../src/index.ts'

export const CHEAP_HASH = { memoryCost: 1024, timeCost: 1, parallelism: 1 }

export interface Harness {
  database: Database
  bus: Bus
  /** An Auth over the shared database; cheap hashes and generous limits unless overridden. */
  auth(overrides?: Partial<CreateAuthOptions>): AuthInstance
  close(): Promise<void>
}

export async function startHarness(): Promise<Harness> {
  const database = await openTestDatabase()
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
      // On a real server the database outlives the run: drop it (this also closes the client).
      await database.drop()
    },
  }
}

let nameCounter = 0
/** A fresh valid username. */
export const uniqueName = (prefix = 'u'): string => `${prefix}${process.pid}_${++nameCounter}`

/**
 * Waits until `check` returns true (polling), or fails after `timeoutMs`.
 * Not vi.waitFor / expect.poll: while any timer is faked (the expiry tests fake
 * only Date) they advance the fake clock by their interval on every retry, so
 * the deadline a test waits for keeps moving away from it.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 3000,
  what = 'condition',
): Promise<void> {
  // performance.now(), not Date.now(): tests that fake Date (expiry) wait with this too.
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}
