/**
 * What building a layer leaves behind for someone to read: its `Exit`, every failure and defect with their causes,
 * what was logged (through a logger that keeps every line) and what was printed on the console.
 */
import { inspect } from "node:util"
import { bounded } from "@cachet/dev"
import { vi } from "@effect/vitest"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"

const text = (u: unknown): string => {
  try {
    return `${String(u)}\n${JSON.stringify(u)}\n${inspect(u, { depth: 20, showHidden: true })}`
  } catch {
    return inspect(u, { depth: 20, showHidden: true })
  }
}

/** The error, its `cause`, and theirs, every one. */
const chain = (u: unknown, seen = new Set<unknown>()): ReadonlyArray<unknown> => {
  if (typeof u !== "object" || u === null || seen.has(u)) return []
  seen.add(u)
  return [u, ...["cause", "lastNodeError", "previousErrors"].flatMap((field) => chain(Reflect.get(u, field), seen))]
}

/** Everything about a failure that could carry a secret, as one text: it and its causes, with their stacks. */
export const failureText = (failure: unknown): string =>
  [...chain(failure).map(text), ...chain(failure).map((u) => String(Reflect.get(Object(u), "stack")))].join("\n")

/**
 * Runs `effect` with a logger that keeps every line and with the console watched: its `Exit`, the lines logged and
 * what the console was given.
 */
export const watched = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const logged: Array<string> = []
    const logger = Logger.make(({ message, cause, annotations }) => {
      logged.push(text(message), Cause.pretty(cause), text([...annotations]))
    })
    const printed: Array<string> = []
    const spies = (["log", "warn", "error", "info", "debug"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
        printed.push(text(args))
      })
    )
    const exit = yield* Effect.exit(effect).pipe(
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.All),
      Effect.ensuring(
        Effect.sync(() => {
          for (const spy of spies) spy.mockRestore()
        })
      )
    )
    return { exit, logged, printed }
  })

/**
 * Builds `layer` (and runs `use` on it, when given) with a logger that keeps every line and with the console
 * watched: the `Exit`, what the console was given, and everything that could carry a secret as one text.
 */
export const attempt = <A, E, B = unknown, E2 = never>(
  layer: Layer.Layer<A, E>,
  use?: (context: Context.Context<A>) => Effect.Effect<B, E2>
) =>
  Effect.gen(function* () {
    const { exit, logged, printed } = yield* bounded(
      watched(
        Effect.scoped(
          Effect.flatMap(
            Layer.build(layer),
            (context): Effect.Effect<unknown, E2> => (use === undefined ? Effect.void : use(context))
          )
        )
      ),
      "10 seconds"
    )
    const failures = Exit.isFailure(exit) ? [...Cause.failures(exit.cause), ...Cause.defects(exit.cause)] : []
    const everything = [
      ...logged,
      ...printed,
      Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "",
      text(exit),
      ...failures.map(failureText)
    ].join("\n")
    const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
    return { exit, error, everything, printed }
  })
