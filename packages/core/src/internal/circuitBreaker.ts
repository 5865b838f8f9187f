/**
 * The circuit breaker: the primitive a backend calls around each of its commands, one per server it talks to, and
 * the transformer that puts one in front of every operation of any `Backend`.
 *
 * Plain mutable state rather than a `Ref`: the closed path is one comparison, paid by every command.
 */

import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Backend } from "../Backend.js"
import { type CacheError, CacheInvalidInputError, CacheUnavailableError, type Operation } from "../CacheError.js"
import type { CircuitBreaker, Options, Settings } from "../CircuitBreaker.js"

const defaultFailureThreshold = 5
const defaultCooldown = Duration.seconds(2)

const invalid = (reason: string): CacheInvalidInputError =>
  new CacheInvalidInputError({ operation: "make", code: "INVALID_ARGUMENT", reason })

/** @internal */
export const settings = (options?: Options | undefined): Either.Either<Settings, CacheInvalidInputError> => {
  const failureThreshold = options?.failureThreshold ?? defaultFailureThreshold
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
    return Either.left(invalid("circuitBreaker.failureThreshold must be a positive integer"))
  }
  const input = options?.cooldown
  if (input === undefined) return Either.right({ failureThreshold, cooldown: defaultCooldown })
  const cooldown = Duration.decodeUnknown(input)
  // Rounded up to whole milliseconds, and at least one: an open circuit fails fast for a while.
  return Option.isSome(cooldown) &&
    Duration.isFinite(cooldown.value) &&
    Math.ceil(Duration.toMillis(cooldown.value)) >= 1
    ? Either.right({ failureThreshold, cooldown: cooldown.value })
    : Either.left(invalid("circuitBreaker.cooldown must be a positive, finite duration"))
}

// Only a failure that says the server did not answer counts; one it answered (a wrong type, a full memory) proves
// it is up.
const counts = (error: CacheError): boolean =>
  (error._tag === "CacheUnavailableError" && error.code !== "CIRCUIT_OPEN") || error._tag === "CacheTimeoutError"

/** @internal */
export const disabled: CircuitBreaker = {
  allow: () => true,
  admit: () => undefined,
  onSuccess: () => {},
  onFailure: () => {},
  onInterrupt: () => {}
}

/** @internal */
export const unsafeMake = (settings: Settings, clock: Clock.Clock): CircuitBreaker => {
  const cooldown = Math.ceil(Duration.toMillis(settings.cooldown))
  const threshold = settings.failureThreshold
  let failures = 0
  // 0 while closed; otherwise the instant the cooldown ends.
  let openUntil = 0
  let probing = false

  const allow = (): boolean => {
    if (openUntil === 0) return true
    if (probing || clock.unsafeCurrentTimeMillis() < openUntil) return false
    probing = true
    return true
  }

  const onSuccess = (): void => {
    if (failures !== 0 || openUntil !== 0) {
      failures = 0
      openUntil = 0
      probing = false
    }
  }

  return {
    allow,
    admit: (operation, key) =>
      openUntil === 0 || allow() ? undefined : new CacheUnavailableError({ operation, key, code: "CIRCUIT_OPEN" }),
    onSuccess,
    onFailure: (error) => {
      if (!counts(error)) return onSuccess()
      failures++
      if (probing || failures >= threshold) {
        openUntil = clock.unsafeCurrentTimeMillis() + cooldown
        probing = false
      }
    },
    // No outcome: the circuit stays as it is, and the next command after the cooldown probes instead. Told by a
    // command that was not the probe, it lets a second probe out early, whose outcome counts like any other.
    onInterrupt: () => {
      probing = false
    }
  }
}

/** @internal */
export const make = (settings: Settings): Effect.Effect<CircuitBreaker> =>
  Effect.map(Effect.clock, (clock) => unsafeMake(settings, clock))

/** @internal */
export const keyed = (settings: Settings): Effect.Effect<(key: string) => CircuitBreaker> =>
  Effect.map(Effect.clock, (clock) => {
    const breakers = new Map<string, CircuitBreaker>()
    return (key) => {
      let breaker = breakers.get(key)
      if (breaker === undefined) {
        breaker = unsafeMake(settings, clock)
        breakers.set(key, breaker)
      }
      return breaker
    }
  })

const report = (breaker: CircuitBreaker, exit: Exit.Exit<unknown, CacheError>): void => {
  if (Exit.isSuccess(exit)) {
    breaker.onSuccess()
    return
  }
  const error = Cause.failureOption(exit.cause)
  // An interruption or a defect says nothing of the server.
  if (Option.isSome(error)) breaker.onFailure(error.value)
  else breaker.onInterrupt()
}

/** @internal */
export const wrap = (backend: Backend, options?: Options | undefined): Effect.Effect<Backend, CacheInvalidInputError> =>
  Effect.flatMap(settings(options), make).pipe(Effect.map((breaker) => guarded(backend, breaker)))

const guarded = (backend: Backend, breaker: CircuitBreaker): Backend => {
  const settle = (exit: Exit.Exit<unknown, CacheError>) => Effect.sync(() => report(breaker, exit))

  const guard = <A>(
    operation: Operation,
    key: string | undefined,
    run: () => Effect.Effect<A, CacheError>
  ): Effect.Effect<A, CacheError> =>
    Effect.suspend(() => {
      const refused = breaker.admit(operation, key)
      return refused === undefined ? Effect.onExit(run(), settle) : Effect.fail(refused)
    })

  // A scan's outcome is known when its stream ends: failed, done, or left unfinished by its consumer.
  const scan = (pattern: string): Stream.Stream<ReadonlyArray<string>, CacheError> =>
    Stream.suspend(() => {
      const refused = breaker.admit("scan", undefined)
      if (refused !== undefined) return Stream.fail(refused)
      let reported = false
      const once = (outcome: () => void) =>
        Effect.sync(() => {
          if (reported) return
          reported = true
          outcome()
        })
      return backend.scan(pattern).pipe(
        Stream.onError((cause) => once(() => report(breaker, Exit.failCause(cause)))),
        Stream.onDone(() => once(breaker.onSuccess)),
        Stream.ensuring(once(breaker.onInterrupt))
      )
    })

  const deleteMatching = backend.deleteMatching
  return {
    name: backend.name,
    server: backend.server,
    get: (key) => guard("get", key, () => backend.get(key)),
    getWithTimeToLive: (key) => guard("getWithTimeToLive", key, () => backend.getWithTimeToLive(key)),
    getMany: (keys) => guard("getMany", undefined, () => backend.getMany(keys)),
    set: (key, value, timeToLive) => guard("set", key, () => backend.set(key, value, timeToLive)),
    setKeepingTimeToLive: (key, value) => guard("set", key, () => backend.setKeepingTimeToLive(key, value)),
    getAndExpire: (key, timeToLive) => guard("get", key, () => backend.getAndExpire(key, timeToLive)),
    setMany: (entries) => guard("setMany", undefined, () => backend.setMany(entries)),
    add: (key, value, timeToLive) => guard("add", key, () => backend.add(key, value, timeToLive)),
    deleteIfEquals: (key, expected) => guard("deleteIfEquals", key, () => backend.deleteIfEquals(key, expected)),
    delete: (keys) => guard("delete", undefined, () => backend.delete(keys)),
    has: (key) => guard("has", key, () => backend.has(key)),
    timeToLive: (key) => guard("timeToLive", key, () => backend.timeToLive(key)),
    expire: (key, timeToLive) => guard("expire", key, () => backend.expire(key, timeToLive)),
    persist: (key) => guard("persist", key, () => backend.persist(key)),
    increment: (key, by) => guard("increment", key, () => backend.increment(key, by)),
    scan,
    deleteMatching:
      deleteMatching === undefined
        ? undefined
        : (pattern, counted) => guard("deletePattern", undefined, () => deleteMatching(pattern, counted)),
    ping: guard("ping", undefined, () => backend.ping),
    coherence: backend.coherence,
    expiryClock: backend.expiryClock
  }
}
