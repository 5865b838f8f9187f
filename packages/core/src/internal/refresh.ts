/**
 * The accounting of a background refresh, one for all of them (`getOrSet`'s stale and ahead-of-expiry refreshes,
 * `refreshEvery`): counted by outcome, and a failure logged at warning level, since nobody waits for it.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as MetricLabel from "effect/MetricLabel"
import { metrics } from "./metrics.js"

/** @internal */
export const reporter = (labels: ReadonlyArray<MetricLabel.MetricLabel>, warning: string, counted = true) => {
  const ok = [...labels, MetricLabel.make("outcome", "ok")]
  const failed = [...labels, MetricLabel.make("outcome", "error")]
  const count = (outcome: ReadonlyArray<MetricLabel.MetricLabel>) =>
    Effect.sync(() => {
      if (counted) metrics.refreshes.unsafeUpdate(1, outcome)
    })
  return <A, E>(exit: Exit.Exit<A, E>): Effect.Effect<void> =>
    Exit.isSuccess(exit) ? count(ok) : Effect.zipRight(count(failed), Effect.logWarning(warning, exit.cause))
}
