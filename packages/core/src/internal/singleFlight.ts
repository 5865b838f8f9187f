/**
 * One lookup per key in this process. In-flight work is a state in a map, not a set of closures: a key is absent
 * (nothing running), `Leading` (a caller runs the lookup and the others wait for its exit) or `Refreshing` (a
 * background fiber replaces a value that is still being served, `previous`).
 *
 * A leader that is interrupted hands over: its waiters try again (one of them leads) rather than inheriting the
 * interrupt. A leader that fails releases every waiter with its failure. A caller with a timeout promises that the
 * lookup goes on in the background: the flight it leads runs in the cache's scope, and a flight it joins is started
 * again there if its leader is interrupted. (A leader runs its lookup in its own fiber, so that a lookup that answers
 * at once costs no fiber and no scheduler hop.)
 */
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"

interface Leading<A> {
  readonly _tag: "Leading"
  readonly deferred: Deferred.Deferred<A, unknown>
  /** Whether a caller with a timeout waits for it: then the lookup must end, even if its leader is interrupted. */
  detached: boolean
}

interface Refreshing<A> {
  readonly _tag: "Refreshing"
  readonly deferred: Deferred.Deferred<A, unknown>
  readonly previous: A
}

/** @internal */
export type Flight<A> = Leading<A> | Refreshing<A>

/** @internal */
export interface SingleFlight<A> {
  /** The flight of `key`, if one is running. */
  readonly flight: (key: string) => Flight<A> | undefined
  /**
   * `compute()` run once for every concurrent caller of `key`: the first leads, the others join its exit. Only the
   * leader calls `compute`; interrupted, it stops the lookup, which starts again in `scope` if the flight is detached.
   */
  readonly run: <E, R>(key: string, compute: () => Effect.Effect<A, E, R>, scope: Scope.Scope) => Effect.Effect<A, E, R>
  /**
   * `run` for a caller that may stop waiting (a timeout): the flight it leads or joins is detached, so that the
   * lookup outlives every caller and ends on its own.
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

  const start = <F extends Flight<A>>(key: string, flight: F): F => {
    flights.set(key, flight)
    return flight
  }
  const deferred = () => Deferred.unsafeMake<A, unknown>(FiberId.none)

  /** The exit of `flight` for one of its callers; `again` when it was interrupted without an answer. */
  const join = <E, R>(flight: Flight<A>, again: () => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(Effect.exit(Deferred.await(flight.deferred)), (exit) => {
      if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
      if (Cause.isInterruptedOnly(exit.cause)) return again()
      // Callers of one key share one lookup, so the leader's failure is of this caller's type: getOrSet's callers
      // of a key pass lookups of the same source.
      return Effect.failCause(exit.cause as Cause.Cause<E>)
    })

  // A lookup in the cache's scope, registered now (before a waiter released meanwhile looks) and run in a fiber.
  const inBackground = <E, R>(key: string, compute: () => Effect.Effect<A, E, R>, scope: Scope.Scope) => {
    const flight = start(key, { _tag: "Leading", deferred: deferred(), detached: true })
    // Forked interruptible: a fiber inherits the uninterruptible region it is forked in (a finalizer, below).
    return Effect.as(Effect.forkIn(Effect.interruptible(lead(key, flight, compute)), scope), flight)
  }

  // A caller with a timeout whose flight was interrupted joins the one started again in its place; with none, the
  // cache's scope closed: nothing to lead again.
  const rejoin = <E, R>(key: string): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const running = flights.get(key)
      return running === undefined ? Effect.interrupt : join(running, () => rejoin(key))
    })

  const flightOf = <E, R>(
    key: string,
    compute: () => Effect.Effect<A, E, R>,
    scope: Scope.Scope,
    detach: boolean
  ): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const again = detach ? () => rejoin<E, R>(key) : () => flightOf(key, compute, scope, detach)
      const running = flights.get(key)
      if (running !== undefined) {
        if (detach && running._tag === "Leading") running.detached = true
        onJoin()
        return join(running, again)
      }
      if (detach) return Effect.flatMap(inBackground(key, compute, scope), (flight) => join(flight, again))
      const flight = start(key, { _tag: "Leading", deferred: deferred(), detached: false })
      // Interrupted, the leader has released its waiters to lead again; if a caller with a timeout joined, the
      // lookup it was promised starts again in the background, and they join it.
      return Effect.onInterrupt(lead(key, flight, compute), () =>
        flight.detached ? Effect.asVoid(inBackground(key, compute, scope)) : Effect.void
      )
    })

  return {
    flight: (key) => flights.get(key),
    run: (key, compute, scope) => flightOf(key, compute, scope, false),
    runDetached: (key, compute, scope) => flightOf(key, compute, scope, true),
    // The first of concurrent callers registers the flight before any other can look.
    refresh: (key, compute, previous, scope, report) =>
      Effect.suspend(() => {
        if (flights.has(key)) return Effect.succeed(false)
        const flight = start(key, { _tag: "Refreshing", deferred: deferred(), previous })
        const refresh = Effect.flatMap(Effect.exit(lead(key, flight, compute)), report)
        return Effect.as(Effect.forkIn(refresh, scope), true)
      })
  }
}
