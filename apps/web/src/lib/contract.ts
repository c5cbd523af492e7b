/**
 * The procedures the web app calls, typed from the server's `AppRouter` and
 * nothing else: a procedure added to `@parley/api` is at once a path here,
 * with its input and output, for `useTrpcQuery`, `callMutation`, `subscribe`
 * and the rest of `trpc-query.ts`. Nothing is declared twice.
 */
import type { AppRouter } from '@parley/api'
import type {
  AnyProcedure,
  inferProcedureInput,
  inferTransformedProcedureOutput,
} from '@trpc/server'

type Procedures = AppRouter['_def']['record']

/** `'rooms.list' | 'messages.send' | …`: every procedure's dotted path. */
type PathsOf<Rec, Prefix extends string = ''> = {
  [K in keyof Rec & string]: Rec[K] extends AnyProcedure
    ? `${Prefix}${K}`
    : PathsOf<Rec[K], `${Prefix}${K}.`>
}[keyof Rec & string]

type Lookup<Rec, P extends string> = P extends `${infer Head}.${infer Rest}`
  ? Head extends keyof Rec
    ? Lookup<Rec[Head], Rest>
    : never
  : P extends keyof Rec
    ? Rec[P]
    : never

type YieldOf<T> = T extends AsyncIterable<infer U> ? U : T

type Described<Proc> = Proc extends AnyProcedure
  ? {
      type: Proc['_def']['type']
      input: inferProcedureInput<Proc>
      /** A subscription's output is what it yields. */
      output: Proc['_def']['type'] extends 'subscription'
        ? YieldOf<inferTransformedProcedureOutput<AppRouter, Proc>>
        : inferTransformedProcedureOutput<AppRouter, Proc>
    }
  : never

export type Path = PathsOf<Procedures>
export type Api = { [P in Path]: Described<Lookup<Procedures, P>> }
export type QueryPath = { [P in Path]: Api[P]['type'] extends 'query' ? P : never }[Path]
export type MutationPath = { [P in Path]: Api[P]['type'] extends 'mutation' ? P : never }[Path]
export type SubscriptionPath = {
  [P in Path]: Api[P]['type'] extends 'subscription' ? P : never
}[Path]
export type Input<P extends Path> = Api[P]['input']
export type Output<P extends Path> = Api[P]['output']
