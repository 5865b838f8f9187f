/**
 * What the local tier's tests share: the value of a read, waiting for a change to arrive, and the lines a program
 * logged.
 */
import type * as CacheResult from "@cachet/core/CacheResult"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"

export const hitValue = <A>(result: CacheResult.CacheResult<A>): A | undefined =>
  result._tag === "CacheHit" ? result.value : undefined

/** Poll `read` until it answers `expected`, for at most `limit` ms: how long the change took to arrive. */
export const arrives = <A>(read: Effect.Effect<A, unknown>, expected: A, limit = 100) =>
  Effect.gen(function* () {
    const start = performance.now()
    for (;;) {
      const value = yield* read
      if (JSON.stringify(value) === JSON.stringify(expected)) return performance.now() - start
      if (performance.now() - start > limit) return yield* Effect.die(new Error(`still ${JSON.stringify(value)}`))
      yield* Effect.sleep("2 millis")
    }
  })

export interface LogLine {
  readonly level: string
  readonly message: string
}

/** Run `effect` with a logger that keeps every line. */
export const logged = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const lines: Array<LogLine> = []
    const logger = Logger.make(({ logLevel, message }) => {
      lines.push({ level: logLevel.label, message: Array.isArray(message) ? message.join(" ") : String(message) })
    })
    return Effect.map(Effect.provide(effect, Logger.replace(Logger.defaultLogger, logger)), (a) => [a, lines] as const)
  })
