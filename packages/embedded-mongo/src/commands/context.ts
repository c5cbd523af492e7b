// Shared types and argument helpers for command handlers.

import type { CursorRegistry } from '../cursors.ts'
import { CommandError, Codes } from '../errors.ts'
import { type Doc, isPlainObject, toNumber } from '../keys.ts'
import type { Engine } from '../store.ts'

export interface Context {
  engine: Engine
  cursors: CursorRegistry
  dbName: string
  connectionId: number
  startedAt: number
}

export type Handler = (cmd: Doc, ctx: Context) => Doc

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double'
  return typeof v
}

function mismatch(cmdName: string, field: string, v: unknown, expected: string): CommandError {
  return new CommandError(Codes.TypeMismatch, `BSON field '${cmdName}.${field}' is the wrong type '${typeName(v)}', expected type '${expected}'`)
}

/** The collection name given as the command's first field. */
export function collectionArg(cmd: Doc, name: string): string {
  const v = cmd[name]
  if (typeof v !== 'string') throw new CommandError(Codes.InvalidNamespace, `collection name has invalid type ${typeName(v)}`)
  if (!v) throw new CommandError(Codes.InvalidNamespace, `Invalid namespace specified ''`)
  return v
}

export function optObject(cmd: Doc, field: string, cmdName: string): Doc | undefined {
  const v = cmd[field]
  if (v === undefined || v === null) return undefined
  if (!isPlainObject(v)) throw mismatch(cmdName, field, v, 'object')
  return v
}

export function optArray(cmd: Doc, field: string, cmdName: string): unknown[] | undefined {
  const v = cmd[field]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v)) throw mismatch(cmdName, field, v, 'array')
  return v
}

export function optNumber(cmd: Doc, field: string, cmdName: string): number | undefined {
  const v = cmd[field]
  if (v === undefined || v === null) return undefined
  const n = toNumber(v)
  if (n === undefined || Number.isNaN(n)) throw mismatch(cmdName, field, v, 'long')
  return n
}

export function objectArray(cmd: Doc, field: string, cmdName: string): Doc[] {
  const arr = optArray(cmd, field, cmdName)
  if (!arr) throw new CommandError(Codes.FailedToParse, `BSON field '${cmdName}.${field}' is missing but a required field`)
  for (const d of arr) if (!isPlainObject(d)) throw mismatch(cmdName, field, d, 'object')
  return arr as Doc[]
}
