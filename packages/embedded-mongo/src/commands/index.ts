// Command dispatch: name → handler, with every handler wrapped so a bad
// command (or a bug) yields an `ok: 0` reply instead of a crash.

import { CommandError, Codes, errorReply, toCommandError } from '../errors.ts'
import type { Doc } from '../keys.ts'
import { adminCommands } from './admin.ts'
import { aggregateCommands } from './aggregate.ts'
import { collectionCommands } from './collections.ts'
import type { Context, Handler } from './context.ts'
import { crudCommands } from './crud.ts'

export type { Context } from './context.ts'

const handlers = new Map<string, Handler>(Object.entries({ ...adminCommands, ...crudCommands, ...aggregateCommands, ...collectionCommands }))

export function runCommand(cmd: Doc, ctx: Context): Doc {
  try {
    const name = Object.keys(cmd)[0]
    if (!name) throw new CommandError(Codes.FailedToParse, 'empty command')
    const handler = handlers.get(name)
    if (!handler) throw new CommandError(Codes.CommandNotFound, `no such command: '${name}'`)
    // A standalone server has no transactions; say so the way mongod does.
    if (cmd.startTransaction !== undefined || cmd.autocommit !== undefined) {
      throw new CommandError(Codes.IllegalOperation, 'Transaction numbers are only allowed on a replica set member or mongos')
    }
    return handler(cmd, ctx)
  } catch (err) {
    return errorReply(toCommandError(err))
  }
}
