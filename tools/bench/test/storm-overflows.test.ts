/**
 * A storm bigger than the survivor's accept queue: the kernel drops the
 * attempts that do not fit and the clients' TCP stacks retry them seconds
 * later. The benchmark counts those drops (a storm slower than its CPU
 * explains shows why), and every client still catches up with nothing lost.
 */
import { expect, test } from 'vitest'
import type { BenchResult } from '../src/report.ts'
import { listenOverflows } from '../src/topology.ts'
import { benchRunner } from './run-bench.ts'

const bench = benchRunner()

test('reads ListenOverflows from /proc/net/netstat', () => {
  const netstat = [
    'TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops',
    'TcpExt: 0 0 53059 53061',
    'IpExt: InNoRoutes ListenOverflows',
    'IpExt: 0 7',
  ].join('\n')
  expect(listenOverflows(netstat)).toBe(53059)
  expect(listenOverflows('IpExt: InNoRoutes\nIpExt: 0\n')).toBeNull()
  expect(listenOverflows(null)).toBeNull()
})

test(
  'a storm into an accept queue of 32: the drops are counted and reported, every client catches up',
  { timeout: 120_000 },
  async () => {
    const args = ['--smoke', '--capacity', '0', '--steps', '400', '--browser', '0', '--storm', '600', '--storm-jitter', '0']
    const { result, output, markdown } = await bench<BenchResult>('overflows', args, { ...process.env, LISTEN_BACKLOG: '32' })
    const storm = result.storm!
    expect(storm.caughtUp).toBe(600)
    expect(storm.integrity).toMatchObject({ lost: 0, duplicates: 0, outOfOrder: 0, resets: 0, ahead: 0 })
    expect(storm.listenOverflows).toBeGreaterThan(0)
    expect(output).toMatch(/connection attempts dropped \(accept queue full\): [1-9]\d*/)
    expect(markdown).toMatch(/Connection attempts the kernel dropped meanwhile, the accept queue full \(retried by the clients' TCP after 1, 3, 7… s\): [1-9]/)
  },
)
