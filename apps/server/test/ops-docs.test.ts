/**
 * docs/operations.md is what an operator tunes a node from: every variable
 * env.ts reads has a row there, and the default the row states is the one a
 * node started without it takes. A default changed in a package (or in
 * env.ts) without the docs fails here.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DEFAULT_LIMITS } from '@parley/api'
import { ENV_VARIABLES, readEnv } from '../src/env.ts'
import { limitsFromEnv } from '../src/server.ts'

const operations = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8')

/** The Environment table's rows: `| \`A\` / \`B\` | a / b | meaning |` → { A: 'a', B: 'b' }. */
function documentedDefaults(): Map<string, string> {
  const table = operations.slice(operations.indexOf('## Environment'))
  const rows = new Map<string, string>()
  for (const line of table.split('\n')) {
    const cells = line.split(' | ')
    if (!line.startsWith('| `') || cells.length < 3) continue
    const names = cells[0]!.slice(2).split(' / ').map((n) => n.replaceAll('`', ''))
    const defaults = cells[1]!.split(' / ')
    names.forEach((name, i) => rows.set(name, (names.length === defaults.length ? defaults[i]! : cells[1]!).replaceAll('`', '')))
  }
  return rows
}

describe('docs/operations.md, Environment', () => {
  const documented = documentedDefaults()
  const defaults = readEnv({})

  it('has a row for every variable a node reads', () => {
    const missing = ENV_VARIABLES.filter((name) => !documented.has(name))
    expect(missing).toEqual([])
  })

  it('has no row for a variable a node no longer reads', () => {
    expect([...documented.keys()].filter((name) => !(ENV_VARIABLES as string[]).includes(name))).toEqual([])
  })

  it('states the default a node takes for each number, switch and word', () => {
    const wrong = ENV_VARIABLES.flatMap((name) => {
      const value: unknown = defaults[name]
      // Unset-by-default variables (MONGODB_URL…), the hostname and the origin list are described in words.
      if (typeof value !== 'number' && typeof value !== 'boolean' && typeof value !== 'string') return []
      if (name === 'NODE_ID') return []
      const stated = documented.get(name)
      return stated === String(value) ? [] : [`${name}: docs say ${stated}, a node takes ${String(value)}`]
    })
    expect(wrong).toEqual([])
  })

  it('maps the API limits one to one: a node started bare enforces what the API would on its own', () => {
    expect(limitsFromEnv(defaults)).toEqual(DEFAULT_LIMITS)
  })
})
