import { describe, expect, it } from 'vitest'
import { createFollowers } from '../src/live/followers.ts'

function setUp() {
  const log: string[] = []
  let failNext = false
  const followers = createFollowers<string>(async (key) => {
    log.push(`subscribe ${key}`)
    await new Promise((r) => setImmediate(r))
    if (failNext) {
      failNext = false
      throw new Error('bus down')
    }
    return () => log.push(`stop ${key}`)
  })
  return { followers, log, failOnce: () => (failNext = true) }
}

describe('followers: one subscription per key while anyone follows it', () => {
  it('members coming together share one subscription; the last to leave stops it', async () => {
    const { followers, log } = setUp()
    await Promise.all([followers.add('r1', 'ann'), followers.add('r1', 'bob')])
    await followers.add('r2', 'ann')
    expect(log).toEqual(['subscribe r1', 'subscribe r2'])
    expect([...followers.members('r1')!].sort()).toEqual(['ann', 'bob'])
    followers.remove('r1', 'ann')
    expect(log).not.toContain('stop r1')
    followers.remove('r1', 'bob')
    followers.remove('r2', 'ann')
    expect(log).toEqual(['subscribe r1', 'subscribe r2', 'stop r1', 'stop r2'])
    expect([followers.members('r1'), followers.members('r2')]).toEqual([undefined, undefined])
  })

  it('everyone gone while it is being set up: it stops once set up', async () => {
    const { followers, log } = setUp()
    const adding = followers.add('r1', 'ann')
    followers.remove('r1', 'ann')
    await adding
    expect(log).toEqual(['subscribe r1', 'stop r1'])
    expect(followers.members('r1')).toBeUndefined()
  })

  it('a failed set-up fails its members and is not kept: the next member subscribes again', async () => {
    const { followers, log, failOnce } = setUp()
    failOnce()
    await expect(followers.add('r1', 'ann')).rejects.toThrow('bus down')
    expect(followers.members('r1')).toBeUndefined()
    await followers.add('r1', 'bob')
    expect(log).toEqual(['subscribe r1', 'subscribe r1'])
    expect([...followers.members('r1')!]).toEqual(['bob'])
  })
})
