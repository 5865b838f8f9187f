/**
 * Lookups the cache-aside tests share.
 *
 * @internal
 */
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"

/** @internal */
export class LookupFailed extends Data.TaggedError("LookupFailed")<{ readonly attempt: number }> {}

/** @internal */
export const Entry = Schema.Struct({ value: Schema.String, timeToLive: Schema.Number })

/** A lookup that counts its runs and, when given a gate, waits for it before answering. */
export const countingLookup = <A, E>(
  runs: Ref.Ref<number>,
  answer: (run: number) => Effect.Effect<A, E>,
  gate?: Deferred.Deferred<void>
): Effect.Effect<A, E> =>
  Effect.flatMap(
    Ref.updateAndGet(runs, (n) => n + 1),
    (run) => (gate === undefined ? answer(run) : Effect.zipRight(Deferred.await(gate), answer(run)))
  )
