/**
 * docs/api.md is the contract other programs are written against: every
 * procedure of the router has its row (or, for a subscription, its heading)
 * there, and every procedure it describes is one the router has. A procedure
 * added, renamed or removed without the docs fails here.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { routerProcedures } from './helpers.ts'

const api = readFileSync(new URL('../../../docs/api.md', import.meta.url), 'utf8')

/** The first cells of the tables headed `| procedure |`, and the `### \`events.room { … }\`` headings. */
function documentedProcedures(): string[] {
  const named: string[] = []
  let inProcedureTable = false
  for (const line of api.split('\n')) {
    if (!line.startsWith('|')) inProcedureTable = false
    else if (line.startsWith('| procedure |')) inProcedureTable = true
    else if (inProcedureTable && line.startsWith('| `')) named.push(line.slice(3, line.indexOf('`', 3)))
    const heading = /^### `([a-z]+\.[a-zA-Z]+)/.exec(line)
    if (heading) named.push(heading[1]!)
  }
  return named.sort()
}

describe('docs/api.md', () => {
  it('describes every procedure of the router, and no other', () => {
    const procedures = routerProcedures().map(([path]) => path).sort()
    expect(procedures.length).toBeGreaterThan(20)
    expect(documentedProcedures()).toEqual(procedures)
  })
})
