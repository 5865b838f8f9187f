/**
 * One lookup per key in this process. In-flight work is a state in a map, not a set of closures: a key is absent
 * (nothing running), `Leading` (a caller runs the lookup and the others wait for its exit) or `Refreshing` (a
 * background fiber replaces a value that is still being served, `previous`).
 *
 * A leader that is interrupted hands over: its waiters try again (one of them leads) rather than inheriting the
 * interrupt. A leader that fails releases every waiter with its failure.
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"

/** @internal */
export type Flight<A> =
  | { readonly _tag: "Leading"; readonly deferred: Deferred.Deferred<A, unknown> }
  | { readonly _tag: "Refreshing"; readonly deferred: Deferred.Deferred<A, unknown>; readonly previous: A }

/** @internal */
export interface SingleFlight<A> {
  /** The flight of `key`, if one is running. */
  readonly flight: (key: string) => Flight<A> | undefined
  /**
   * `compute()` run once for every concurrent caller of `key`: the first leads, the others join its exit. Only the
   * leader calls `compute`.
   */
  readonly run: <E, R>(key: string, compute: () => Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * `run`, with the lookup forked into `scope` by the caller that leads: it outlives callers that stop waiting (a
   * timeout, an interrupt) and ends on its own. Callers wait for it as joiners do.
   */
  readonly runDetached: <E, R>(
    key: string,
    compute: () => Effect.Effect<A, E, R>,
    scope: Scope.Scope
  ) => Effect.Effect<A, E, R>
  /**
   * Starts `compute` in `scope` as the flight of `key`, unless one is running (then answers `false`): a caller
   * arriving meanwhile joins it. `report` sees its exit (the flight's failure goes nowhere else).
   */
  readonly refresh: <E, R>(
    key: string,
    compute: () => Effect.Effect<A, E, R>,
    previous: A,
    scope: Scope.Scope,
    report: (exit: Exit.Exit<A, E>) => Effect.Effect<void>
  ) => Effect.Effect<boolean, never, R>
}

/** @internal */
export const make = <A>(onJoin: () => void): SingleFlight<A> => {
  const flights = new Map<string, Flight<A>>()

  const lead = <E, R>(key: string, flight: Flight<A>, compute: () => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.exit(restore(Effect.suspend(compute))), (exit) => {
        if (flights.get(key) === flight) flights.delete(key)
        return Effect.zipRight(Deferred.done(flight.deferred, exit), exit)
      })
    )

  const start = (key: string, previous?: { readonly value: A }): Flight<A> => {
    const deferred = Deferred.unsafeMake<A, unknown>(FiberId.none)
    const flight: Flight<A> =
      previous === undefined
        ? { _tag: "Leading", deferred }
        : { _tag: "Refreshing", deferred, previous: previous.value }
    flights.set(key, flight)
    return flight
  }

  /** The exit of `flight` for one of its callers; `again` when it was interrupted without an answer. */
  const join = <E, R>(flight: Flight<A>, again: () => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(Effect.exit(Deferred.await(flight.deferred)), (exit) => {
      if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
      if (Cause.isInterruptedOnly(exit.cause)) return again()
      // Callers of one key share one lookup, so the leader's failure is of this caller's type: getOrSet's callers
      // of a key pass lookups of the same source.
      return Effect.failCause(exit.cause as Cause.Cause<E>)
    })

  const run = <E, R>(key: string, compute: () => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const running = flights.get(key)
      if (running === undefined) return lead(key, start(key), compute)
      onJoin()
      return join(running, () => run(key, compute))
    })

  const runDetached = <E, R>(
    key: string,
    compute: () => Effect.Effect<A, E, R>,
    scope: Scope.Scope
  ): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const running = flights.get(key)
      // A detached lookup is interrupted only with the cache's scope: nothing to lead again.
      const interrupted = () => Effect.interrupt
      if (running !== undefined) {
        onJoin()
        return join(running, interrupted)
      }
      const flight = start(key)
      return Effect.zipRight(Effect.forkIn(lead(key, flight, compute), scope), join(flight, interrupted))
    })

  return {
    flight: (key) => flights.get(key),
    run,
    runDetached,
    // The first of concurrent callers registers the flight before any other can look.
    refresh: (key, compute, previous, scope, report) =>
      Effect.suspend(() => {
        if (flights.has(key)) return Effect.succeed(false)
        const refresh = Effect.flatMap(Effect.exit(lead(key, start(key, { value: previous }), compute)), report)
        return Effect.as(Effect.forkIn(refresh, scope), true)
      })
  }
}
