/**
 * Single-flight on its own: one lookup per key for concurrent callers, the leader's failure fanned out to every
 * waiter, an interrupted leader handing over to a waiter, and background refreshes as a state of the same map.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as SingleFlight from "../src/internal/singleFlight.js"

/** A lookup that counts its runs and waits for `gate` before answering `value`. */
const gated = <A>(gate: Deferred.Deferred<void>, value: A) => {
  const runs = { count: 0 }
  const compute = () =>
    Effect.suspend(() => {
      runs.count++
      return Effect.as(Deferred.await(gate), value)
    })
  return { runs, compute }
}

describe("single-flight", () => {
  it.scoped("concurrent callers of a key run the lookup once and share its value; other keys run their own", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      let joins = 0
      const flights = SingleFlight.make<string>(() => joins++)
      const gate = yield* Deferred.make<void>()
      const a = gated(gate, "a")
      const b = gated(gate, "b")
      const callers = yield* Effect.forkAll([
        ...Array.from({ length: 10 }, () => flights.run("a", a.compute, scope)),
        flights.run("b", b.compute, scope)
      ])
      yield* Effect.yieldNow()
      assert.strictEqual(flights.flight("a")?._tag, "Leading")
      yield* Deferred.succeed(gate, undefined)
      const answers = yield* Fiber.join(callers)
      assert.deepStrictEqual(answers, [...Array.from({ length: 10 }, () => "a"), "b"])
      assert.strictEqual(a.runs.count, 1)
      assert.strictEqual(b.runs.count, 1)
      assert.strictEqual(joins, 9)
      assert.isUndefined(flights.flight("a"))
    })
  )

  it.scoped("a failing lookup fails every waiter with its own failure, and the next caller looks up again", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const flights = SingleFlight.make<number>(() => {})
      const gate = yield* Deferred.make<void>()
      let runs = 0
      const failing = () =>
        Effect.suspend(() => {
          runs++
          return Effect.zipRight(Deferred.await(gate), Effect.fail("source down" as const))
        })
      const callers = yield* Effect.forkAll(
        Array.from({ length: 5 }, () => Effect.exit(flights.run("k", failing, scope)))
      )
      yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      const exits = yield* Fiber.join(callers)
      for (const exit of exits) assert.deepStrictEqual(exit, Exit.fail("source down"))
      assert.strictEqual(runs, 1)
      assert.isUndefined(flights.flight("k"))
      assert.strictEqual(yield* flights.run("k", () => Effect.succeed(7), scope), 7)
    })
  )

  it.scoped("an interrupted leader hands over: a waiter leads a new lookup, no waiter inherits the interrupt", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const flights = SingleFlight.make<string>(() => {})
      const never = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      let runs = 0
      const compute = () =>
        Effect.suspend(() => {
          runs++
          // The first run never ends by itself; the run that takes over answers when the gate opens.
          return runs === 1 ? Effect.as(Deferred.await(never), "first") : Effect.as(Deferred.await(gate), "second")
        })
      const leader = yield* Effect.fork(flights.run("k", compute, scope))
      yield* Effect.yieldNow()
      const waiters = yield* Effect.forkAll(Array.from({ length: 3 }, () => flights.run("k", compute, scope)))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(leader)
      yield* Effect.yieldNow()
      assert.strictEqual(flights.flight("k")?._tag, "Leading")
      yield* Deferred.succeed(gate, undefined)
      assert.deepStrictEqual(yield* Fiber.join(waiters), ["second", "second", "second"])
      assert.strictEqual(runs, 2)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(leader)))
    })
  )

  it.scoped(
    "a refresh is a Refreshing flight with the value it replaces: callers join it, a second refresh does not start",
    () =>
      Effect.gen(function* () {
        const scope = yield* Effect.scope
        const flights = SingleFlight.make<string>(() => {})
        const gate = yield* Deferred.make<void>()
        const { runs, compute } = gated(gate, "new")
        const reported: Array<Exit.Exit<string, unknown>> = []
        const report = (exit: Exit.Exit<string, unknown>) => Effect.sync(() => void reported.push(exit))
        yield* flights.refresh("k", compute, "old", scope, report)
        yield* flights.refresh("k", compute, "old", scope, report)
        const flight = flights.flight("k")
        assert.strictEqual(flight?._tag, "Refreshing")
        assert.strictEqual(flight?._tag === "Refreshing" ? flight.previous : undefined, "old")
        const joiner = yield* Effect.fork(flights.run("k", () => Effect.succeed("own lookup"), scope))
        yield* Effect.yieldNow()
        yield* Deferred.succeed(gate, undefined)
        assert.strictEqual(yield* Fiber.join(joiner), "new")
        yield* Effect.yieldNow()
        assert.strictEqual(runs.count, 1)
        assert.deepStrictEqual(reported, [Exit.succeed("new")])
        assert.isUndefined(flights.flight("k"))
      })
  )

  it.scoped("a failed refresh is reported, and fails the callers that joined it", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      const flights = SingleFlight.make<string>(() => {})
      const gate = yield* Deferred.make<void>()
      const reported: Array<Exit.Exit<string, unknown>> = []
      yield* flights.refresh(
        "k",
        () => Effect.zipRight(Deferred.await(gate), Effect.fail("refresh failed")),
        "old",
        scope,
        (exit) => Effect.sync(() => void reported.push(exit))
      )
      // A caller of the same key passes a lookup of the same source: here, one that may fail with a string too.
      const ownLookup: Effect.Effect<string, string> = Effect.succeed("own lookup")
      const joiner = yield* Effect.fork(Effect.exit(flights.run("k", () => ownLookup, scope)))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      assert.deepStrictEqual(yield* Fiber.join(joiner), Exit.fail("refresh failed"))
      yield* Effect.yieldNow()
      assert.deepStrictEqual(reported, [Exit.fail("refresh failed")])
      assert.isUndefined(flights.flight("k"))
    })
  )
})
