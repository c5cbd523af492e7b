/** Runs the benchmark (src/main.ts, what `pnpm bench` runs) as a child process, as CI does. */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect } from 'vitest'

const benchRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Its exit code and everything it printed (for assertion messages). */
async function runBench(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), 'src/main.ts', ...args],
    { cwd: benchRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout.on('data', (b: Buffer) => (output += b.toString()))
  child.stderr.on('data', (b: Buffer) => (output += b.toString()))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, output }
}

/**
 * Runs the benchmark into a results folder of the test file's own (made at
 * import, removed after its tests), expects a clean run — no failures,
 * exit 0 — and returns what it wrote under `name`: the JSON result parsed,
 * the Markdown, and what it printed.
 */
export function benchRunner() {
  const out = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-test-'))
  afterAll(() => rmSync(out, { recursive: true, force: true }))
  return async <R extends { failures: string[] }>(name: string, args: string[], env: NodeJS.ProcessEnv = process.env) => {
    const { code, output } = await runBench([...args, '--out', out, '--name', name], env)
    const result = JSON.parse(readFileSync(path.join(out, `${name}.json`), 'utf8')) as R
    expect(result.failures, output).toEqual([])
    expect(code, output).toBe(0)
    const file = (suffix: string) => readFileSync(path.join(out, `${name}${suffix}`), 'utf8')
    return { result, output, markdown: file('.md'), file }
  }
}
