/**
 * Summarises V8 .cpuprofile files (from `pnpm bench --cpu-prof`): top
 * functions by self time, and self time by source module. The server is one
 * esbuild bundle, so a frame in dist/main.js is attributed to the workspace
 * file named by the bundle's `// ../../packages/x/src/y.ts` comments.
 *
 * Stand-alone: `pnpm --filter @parley/bench exec tsx src/profile.ts FILE.cpuprofile… [bundle-copy.js]`
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  hitCount?: number
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

const bundleModules = new Map<string, { line: number; module: string }[]>()
let bundleOverride: string | null = null
function moduleOf(url: string, line: number): string {
  if (!url) return '(native / gc / idle)'
  if (url.startsWith('node:')) return url.split('/')[0]!.replace(/^node:internal.*/, 'node:internal')
  const file = url.startsWith('file://') ? fileURLToPath(url) : url
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)
  if (pnpm) return pnpm[1]!
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)
  if (nm) return nm[1]!
  if (file.endsWith('dist/main.js')) {
    const bundle = bundleOverride ?? file
    let table = bundleModules.get(bundle)
    if (!table) {
      table = []
      try {
        readFileSync(bundle, 'utf8')
          .split('\n')
          .forEach((l, i) => {
            const m = /^\/\/ ((?:\.\.\/)*[\w@./-]+\.ts)$/.exec(l)
            if (m) table!.push({ line: i, module: m[1]!.replace(/^(\.\.\/)+/, '') })
          })
      } catch {
        /* bundle gone */
      }
      bundleModules.set(bundle, table)
    }
    let mod = 'apps/server (bundle)'
    for (const e of table) {
      if (e.line > line) break
      mod = e.module.startsWith('src/') ? `apps/server/${e.module}` : e.module
    }
    return mod
  }
  return path.basename(file)
}

export function summariseProfile(file: string, top = 30): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  // Self time per node from samples × deltas (more exact than hitCount × mean interval).
  const self = new Map<number, number>()
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0))
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0)
  const idleIds = new Set(p.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id))
  const idleUs = [...idleIds].reduce((a, id) => a + (self.get(id) ?? 0), 0)
  const busyUs = totalUs - idleUs

  const fn = new Map<string, number>()
  const mod = new Map<string, number>()
  for (const [id, us] of self) {
    if (idleIds.has(id)) continue
    const n = byId.get(id)!
    const cf = n.callFrame
    const m = moduleOf(cf.url, cf.lineNumber)
    const key = `${cf.functionName || '(anonymous)'} — ${m}${cf.url ? `:${cf.lineNumber + 1}` : ''}`
    fn.set(key, (fn.get(key) ?? 0) + us)
    mod.set(m, (mod.get(m) ?? 0) + us)
  }
  // Inclusive time per function name+module (each function counted once per stack).
  const incl = new Map<string, number>()
  const parent = new Map<number, number>()
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  for (const [id, us] of self) {
    if (idleIds.has(id)) continue
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame
      if (!cf.url) continue
      const key = `${cf.functionName || '(anonymous)'} — ${moduleOf(cf.url, cf.lineNumber)}`
      if (seen.has(key)) continue
      seen.add(key)
      incl.set(key, (incl.get(key) ?? 0) + us)
    }
  }
  const pct = (us: number) => `${((us / busyUs) * 100).toFixed(1)}%`
  const rows = (m: Map<string, number>, k: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => `| ${pct(us)} | ${(us / 1e6).toFixed(2)} s | \`${name.replace(/\|/g, '\\|')}\` |`)
  const L = [
    `## ${path.basename(file)}`,
    '',
    `Wall ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s, on CPU ${(busyUs / 1e6).toFixed(1)} s (idle ${(idleUs / 1e6).toFixed(1)} s). Percentages are of on-CPU time.`,
    '',
    '### Self time by module',
    '',
    '| share | self | module |',
    '| ---: | ---: | --- |',
    ...rows(mod, 25),
    '',
    `### Top ${top} functions by self time`,
    '',
    '| share | self | function — module:line |',
    '| ---: | ---: | --- |',
    ...rows(fn, top),
    '',
    '### Top functions by inclusive time',
    '',
    '| share | total | function — module |',
    '| ---: | ---: | --- |',
    ...rows(incl, top),
    '',
  ]
  return L.join('\n')
}

/** `bundle`: a copy of apps/server/dist/main.js as it was when profiled. */
export function summariseProfiles(files: string[], bundle?: string): string {
  bundleOverride = bundle && existsSync(bundle) ? bundle : null
  return ['# CPU profiles (pnpm bench --cpu-prof)', '', ...files.map((f) => summariseProfile(f))].join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const files = process.argv.slice(2).filter((a) => a !== '--' && a.endsWith('.cpuprofile'))
  const bundle = process.argv.slice(2).find((a) => a.endsWith('.js'))
  process.stdout.write(summariseProfiles(files, bundle))
}
