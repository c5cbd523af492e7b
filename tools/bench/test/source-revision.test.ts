/**
 * A result names the commit it measured, so a row of docs/performance.md can
 * be re-run on the same code: and says so when the code differed from it.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { describeSource } from '../src/report.ts'
import { sourceRevision } from '../src/topology.ts'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'parley-source-'))
  dirs.push(d)
  return d
}

test('the commit of a checkout, and whether its code differs from it (results and docs, which runs rewrite, aside)', () => {
  const repo = tempDir()
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim()
  git('init', '-q')
  mkdirSync(path.join(repo, 'docs'))
  mkdirSync(path.join(repo, 'bench/results'), { recursive: true })
  for (const f of ['server.ts', 'docs/performance.md', 'bench/results/latest.md']) writeFileSync(path.join(repo, f), 'v1\n')
  git('add', '.')
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'first')
  const commit = git('rev-parse', 'HEAD')

  expect(sourceRevision(repo)).toEqual({ commit, dirty: false })
  // A run's own outputs, and files git does not track, leave the code as committed.
  writeFileSync(path.join(repo, 'docs/performance.md'), 'v2\n')
  writeFileSync(path.join(repo, 'bench/results/latest.md'), 'v2\n')
  writeFileSync(path.join(repo, 'scratch.ts'), 'new\n')
  expect(sourceRevision(repo)).toEqual({ commit, dirty: false })
  // A change to tracked code is not the commit any more.
  writeFileSync(path.join(repo, 'server.ts'), 'v2\n')
  expect(sourceRevision(repo)).toEqual({ commit, dirty: true })
  expect(describeSource(sourceRevision(repo))).toBe(`commit ${commit.slice(0, 7)} with uncommitted changes`)
})

test('outside a git checkout there is no commit to name', () => {
  const dir = tempDir()
  expect(sourceRevision(dir)).toBeNull()
  expect(describeSource(null)).toBe('an unknown commit')
})
