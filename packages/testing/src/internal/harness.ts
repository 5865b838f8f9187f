/**
 * The scaffolding every conformance test shares: a cache built per test, a namespace of the test's own, and
 * assertions that hold both under `TestClock` (exact) and against a real server in real time (within a margin).
 *
 * @internal
 */

import * as Cache from "@cachet/core/Cache"
import * as CacheError from "@cachet/core/CacheError"
import type * as CacheResult from "@cachet/core/CacheResult"
import { assert, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as FastCheck from "effect/FastCheck"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestServices from "effect/TestServices"

/** What a backend gives the suite: a cache per test, and a way to let time pass. */
export interface Setup {
  readonly layer: Layer.Layer<Cache.Cache, CacheError.CacheError, never>
  readonly advance: (duration: Duration.DurationInput) => Effect.Effect<void>
}

/** What a test body receives. */
export interface TestContext {
  /** The root view. Only a few tests touch it, with keys from `rootKey`. */
  readonly root: Cache.Cache.Service
  /** A namespace nobody else uses; cleared when the test ends. */
  readonly ns: Cache.Cache.Service
  /** The name of `ns` under the root, unique to this test (letters, digits and `-`: no glob metacharacters). */
  readonly id: string
  /** A key of the root view unique to this test, deleted when the test ends. */
  readonly rootKey: (suffix: string) => string
  /** A value no error message may contain. */
  readonly secret: string
  readonly advance: (duration: Duration.DurationInput) => Effect.Effect<void>
}

/** A test body: a failure of whatever type fails the test. */
export type Body = (context: TestContext) => Effect.Effect<void, unknown, Scope.Scope>

/** Registers tests against one backend. */
export interface Harness {
  readonly test: (title: string, body: Body) => void
  readonly prop: <const Arbs extends Record<string, FastCheck.Arbitrary<unknown>>>(
    title: string,
    arbitraries: Arbs,
    body: (
      values: { [K in keyof Arbs]: Arbs[K] extends FastCheck.Arbitrary<infer T> ? T : Schema.Schema.Type<Arbs[K]> },
      context: TestContext
    ) => Effect.Effect<void, unknown, Scope.Scope>,
    runs?: number
  ) => void
}

/** Real backends get real latency: generous, and only ever used as a lower bound on a remaining time. */
export const margin = 1_000

/** A time-to-live long enough that nothing expires during a test, checked against `margin`. */
export const longTimeToLive = 60_000

/** A time-to-live a test lets pass with `advance(short + slack)`. */
export const shortTimeToLive = 200

/** How far past an expiry `advance` goes, so that a real server has surely expired the key. */
export const slack = 100

// Random.next would be TestRandom, the same sequence every run; a shared server must not see the same ids twice.
const runId = Math.random().toString(36).slice(2, 10)
let counter = 0
const nextId = (): string => `cs-${runId}-${(counter++).toString(36)}`

const withContext =
  (setup: Setup) =>
  (body: Body): Effect.Effect<void, unknown> =>
    Effect.gen(function* () {
      const root = yield* Cache.Cache
      const id = nextId()
      const ns = root.namespace(id)
      const rootKeys: Array<string> = []
      // Runs before the layer is released (the scope is inside `provide`), so a shared server is left clean.
      yield* Effect.addFinalizer(() =>
        Effect.ignore(Effect.zip(ns.clear(), rootKeys.length === 0 ? Effect.void : root.deleteMany(rootKeys)))
      )
      yield* body({
        root,
        ns,
        id,
        rootKey: (suffix) => {
          const key = `${id}.${suffix}`
          rootKeys.push(key)
          return key
        },
        secret: `s3cr3t-value-${id}`,
        advance: setup.advance
      })
    }).pipe(Effect.scoped, Effect.provide(setup.layer))

/** @internal */
export const makeHarness = (setup: Setup): Harness => {
  const run = withContext(setup)
  return {
    test: (title, body) => it.effect(title, () => run(body)),
    prop: (title, arbitraries, body, runs = 20) =>
      it.effect.prop(title, arbitraries, (values) => run((context) => body(values, context)), {
        fastCheck: { numRuns: runs }
      })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------------------------------------------

const fail = (message: string): Effect.Effect<never> => Effect.sync(() => assert.fail(message))

/** The typed failure of an effect that must fail; a success or a defect fails the test. */
export const failure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<E, never, R> =>
  Effect.matchCauseEffect(self, {
    onSuccess: (value) => fail(`expected a failure, got a success: ${safeString(value)}`),
    onFailure: (cause) =>
      Option.match(Cause.failureOption(cause), {
        onNone: () => fail(`expected a typed failure, got: ${Cause.pretty(cause)}`),
        onSome: (error) => Effect.succeed(error)
      })
  })

const safeString = (value: unknown): string => {
  try {
    return typeof value === "bigint" ? `${value}n` : (JSON.stringify(value) ?? String(value))
  } catch {
    return String(value)
  }
}

/** Checks a `CacheError`: its tag, its code (one of `codes` when given), and that `message` leaks no secret. */
export const cacheError = <A, R>(
  self: Effect.Effect<A, CacheError.CacheError, R>,
  tag: CacheError.CacheError["_tag"],
  codes?: ReadonlyArray<string>,
  secrets: ReadonlyArray<string> = []
): Effect.Effect<CacheError.CacheError, never, R> =>
  Effect.map(failure(self), (error) => {
    expectCacheError(error, tag, codes, secrets)
    return error
  })

/** Assertions on an error already in hand. */
export const expectCacheError = (
  error: unknown,
  tag: CacheError.CacheError["_tag"],
  codes?: ReadonlyArray<string>,
  secrets: ReadonlyArray<string> = []
): void => {
  assert.isTrue(CacheError.isCacheError(error), `expected a CacheError, got ${safeString(error)}`)
  if (!CacheError.isCacheError(error)) return
  assert.strictEqual(error._tag, tag, `unexpected error: ${error._tag} ${error.code}: ${error.message}`)
  if (codes !== undefined) {
    assert.include(codes, error.code, `unexpected code of ${error._tag}: ${error.message}`)
  }
  assert.isString(error.operation)
  for (const secret of secrets) {
    assert.notInclude(error.message, secret, "an error message contains a stored value")
  }
}

/** The value of a hit; a miss fails the test. */
export const hitValue = <A>(result: CacheResult.CacheResult<A>, what = "the entry"): A => {
  if (result._tag === "CacheMiss") return assert.fail(`expected a hit for ${what}, got a miss`)
  return result.value
}

export const expectHit = <A>(result: CacheResult.CacheResult<A>, expected: A, what?: string): void => {
  assert.deepStrictEqual(hitValue(result, what), expected)
}

export const expectMiss = <A>(result: CacheResult.CacheResult<A>, what = "the entry"): void => {
  assert.strictEqual(result._tag, "CacheMiss", `expected a miss for ${what}, got ${safeString(result)}`)
}

/** Remaining milliseconds of an entry that expires; a miss or "never expires" fails the test. */
export const remainingMillis = (
  result: CacheResult.CacheResult<Option.Option<Duration.Duration>>,
  what = "the entry"
): number => {
  const option = hitValue(result, what)
  if (Option.isNone(option)) return assert.fail(`expected ${what} to expire, but it never expires`)
  return Duration.toMillis(option.value)
}

/**
 * The remaining time-to-live is at most `upper` and more than `lower - margin`: exact under TestClock (where
 * `lower` = `upper` is the expected value), and allowing for time spent on the way to a real server.
 */
export const expectRemaining = (
  result: CacheResult.CacheResult<Option.Option<Duration.Duration>>,
  expected: number,
  what?: string,
  upper = expected
): number => {
  const millis = remainingMillis(result, what)
  assert.isAtMost(millis, upper, `remaining time-to-live of ${what ?? "the entry"}`)
  assert.isAbove(millis, expected - margin, `remaining time-to-live of ${what ?? "the entry"}`)
  return millis
}

export const expectNeverExpires = (
  result: CacheResult.CacheResult<Option.Option<Duration.Duration>>,
  what = "the entry"
): void => {
  const option = hitValue(result, what)
  assert.isTrue(Option.isNone(option), `expected ${what} never to expire, got ${safeString(option)}`)
}

/** Every key of a stream, de-duplicated (SCAN may repeat a key during a rehash) and sorted. */
export const collectKeys = <E, R>(stream: Stream.Stream<string, E, R>): Effect.Effect<Array<string>, E, R> =>
  Effect.map(Stream.runCollect(stream), (chunk) => Array.from(new Set(Chunk.toReadonlyArray(chunk))).sort())

export const sorted = (values: ReadonlyArray<string>): Array<string> => [...values].sort()

/**
 * Keys as a JavaScript caller without types might pass them. The only place the suite bypasses the types: it
 * checks that the service refuses such keys rather than sending them.
 */
export const untypedKey = (value: unknown): string => value as string

/** Repeats `check` until it holds, letting fibers run and (after a while) time pass; fails after a bound. */
export const eventually = (
  check: Effect.Effect<boolean>,
  advance: (duration: Duration.DurationInput) => Effect.Effect<void>,
  what: string
): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let attempt = 0; attempt < 400; attempt++) {
      if (yield* check) return
      yield* attempt < 100 ? Effect.yieldNow() : advance(Duration.millis(5))
    }
    return yield* fail(`timed out waiting until ${what}`)
  })

/** Lets started fibers reach their next suspension: scheduler turns first, then a little (test or real) time. */
export const settle = (advance: (duration: Duration.DurationInput) => Effect.Effect<void>): Effect.Effect<void> =>
  Effect.zipRight(Effect.repeatN(Effect.yieldNow(), 50), advance(Duration.millis(50)))

/**
 * The exit of an effect, failing the test (rather than hanging it) when it does not end within a real-time
 * bound; the bound reads the live clock because a TestClock never moves by itself.
 */
export const exitWithin = <A, E>(
  self: Effect.Effect<Exit.Exit<A, E>>,
  what: string,
  bound: Duration.DurationInput = "3 seconds"
): Effect.Effect<Exit.Exit<A, E>> =>
  Effect.flatMap(TestServices.provideLive(Effect.timeoutOption(self, bound)), (option) =>
    Option.match(option, {
      onNone: () => fail(`${what} did not end: a waiter hangs`),
      onSome: (exit) => Effect.succeed(exit)
    })
  )
