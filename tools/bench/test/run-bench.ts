/** Runs the benchmark (src/main.ts, what `pnpm bench` runs) as a child process, as CI does. */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const benchRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Its exit code and everything it printed (for assertion messages). */
export async function runBench(
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
