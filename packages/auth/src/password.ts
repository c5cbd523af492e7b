/**
 * Argon2id password hashing with explicit parameters (OWASP minimum:
 * m=19456 KiB, t=2, p=1), bounded concurrency, and a dummy hash so unknown
 * usernames cost the same as wrong passwords.
 */
import { hash, parseOptions, verify, type Options } from '@node-rs/argon2'
import { Semaphore } from './semaphore.ts'

export interface HashParams {
  /** KiB */
  memoryCost: number
  timeCost: number
  parallelism: number
}

export const OWASP_MIN_PARAMS: HashParams = { memoryCost: 19_456, timeCost: 2, parallelism: 1 }

// Algorithm.Argon2id from @node-rs/argon2. Its const enum cannot be imported
// under isolatedModules, so the numeric value is spelled out here.
const ARGON2ID = 2 as Options['algorithm']

export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(hashed: string, password: string): Promise<boolean>
  /** Spends the same effort as verify() against a real hash, then returns false. */
  verifyDummy(password: string): Promise<false>
  /** True when `hashed` was made with other parameters than the current ones. */
  needsRehash(hashed: string): boolean
  readonly params: HashParams
  stats(): { running: number; pending: number }
}

export function createPasswordHasher(
  params: HashParams,
  maxConcurrent: number,
  maxQueue = 10_000,
): PasswordHasher {
  const options: Options = {
    algorithm: ARGON2ID,
    memoryCost: params.memoryCost,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
    outputLen: 32,
  }
  const gate = new Semaphore(maxConcurrent, maxQueue)
  let dummy: Promise<string> | null = null
  const dummyHash = (): Promise<string> => {
    if (!dummy) {
      const random = new Uint8Array(32)
      crypto.getRandomValues(random)
      dummy = gate.run(() => hash(random, options))
      dummy.catch(() => (dummy = null))
    }
    return dummy
  }

  return {
    params,
    hash: (password) => gate.run(() => hash(password, options)),
    verify: (hashed, password) =>
      gate.run(async () => {
        try {
          return await verify(hashed, password)
        } catch {
          // A corrupt stored hash is a failed login, not a server error.
          return false
        }
      }),
    async verifyDummy(password) {
      const h = await dummyHash()
      await gate.run(() => verify(h, password).catch(() => false))
      return false
    },
    needsRehash(hashed) {
      try {
        const p = parseOptions(hashed)
        return (
          p.algorithm !== ARGON2ID ||
          p.memoryCost !== params.memoryCost ||
          p.timeCost !== params.timeCost ||
          p.parallelism !== params.parallelism
        )
      } catch {
        return true
      }
    },
    stats: () => ({ running: gate.running, pending: gate.pending }),
  }
}
