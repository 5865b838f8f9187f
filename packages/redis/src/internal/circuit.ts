/**
 * A circuit breaker for one backend. After `failureThreshold` consecutive unavailable or timeout failures it opens:
 * operations fail at once with `CacheUnavailableError` code `CIRCUIT_OPEN`, so callers stop waiting on a server that
 * is down. After `cooldown` one operation goes through as a probe (half-open): its success closes the circuit, its
 * failure opens it for another cooldown.
 *
 * Plain mutable state rather than a `Ref`: the closed path is one comparison, paid by every command.
 *
 * A breaker knows nothing of Redis: it is told outcomes as `CacheError`s. Its scope is one server, so that one
 * server down fails fast on its own keys only: the whole backend for a standalone server or a Sentinel group's
 * master, each master for a Cluster (`perServer`).
 */
import type { Operation } from "@cachet/core/CacheError"
import { type CacheError, CacheUnavailableError } from "@cachet/core/CacheError"

export interface Settings {
  readonly failureThreshold: number
  /** Milliseconds. */
  readonly cooldown: number
}

export interface CircuitBreaker {
  /** `undefined` to go ahead, or the error to fail with at once. */
  readonly admit: (operation: Operation, key: string | undefined) => CacheUnavailableError | undefined
  readonly onSuccess: () => void
  /** Record a failure; errors that prove the server answered count as success. */
  readonly onFailure: (error: CacheError) => void
}

const counts = (error: CacheError): boolean =>
  (error._tag === "CacheUnavailableError" && error.code !== "CIRCUIT_OPEN") || error._tag === "CacheTimeoutError"

/**
 * A breaker that never opens.
 */
export const disabled: CircuitBreaker = {
  admit: () => undefined,
  onSuccess: () => {},
  onFailure: () => {}
}

/**
 * A breaker reading time from `now` (milliseconds).
 */
export const make = (settings: Settings, now: () => number): CircuitBreaker => {
  let failures = 0
  // 0 while closed; otherwise the instant the cooldown ends.
  let openUntil = 0
  let probing = false

  const onSuccess = (): void => {
    if (failures !== 0 || openUntil !== 0) {
      failures = 0
      openUntil = 0
      probing = false
    }
  }

  return {
    admit: (operation, key) => {
      if (openUntil === 0) return undefined
      if (probing || now() < openUntil) return new CacheUnavailableError({ operation, key, code: "CIRCUIT_OPEN" })
      probing = true
      return undefined
    },
    onSuccess,
    onFailure: (error) => {
      if (!counts(error)) return onSuccess()
      failures++
      if (probing || failures >= settings.failureThreshold) {
        openUntil = now() + settings.cooldown
        probing = false
      }
    }
  }
}

/**
 * One breaker per server, named by the caller (`host:port`) and made by `make` on first use.
 */
export const perServer = (make: () => CircuitBreaker): ((server: string) => CircuitBreaker) => {
  const breakers = new Map<string, CircuitBreaker>()
  return (server) => {
    const known = breakers.get(server)
    if (known !== undefined) return known
    const breaker = make()
    breakers.set(server, breaker)
    return breaker
  }
}

/**
 * What a client that breaks per server rejects with when the server's circuit is open; the backend turns it into
 * `CacheUnavailableError` code `CIRCUIT_OPEN` with its own operation and key.
 */
export class CircuitOpen extends Error {
  override readonly name = "CircuitOpen"
}
