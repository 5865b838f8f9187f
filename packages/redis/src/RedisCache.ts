/**
 * The Redis backend, on ioredis. Every operation is one Redis command (or one small script), every failure a
 * typed `CacheError`, and nothing waits forever: the connection is checked at startup within `connectTimeout`,
 * every command is bounded by `commandTimeout`, and a circuit breaker fails fast while the server is down. The
 * connection reconnects by itself, so the same layer recovers after a restart.
 *
 * An ACL user needs the key pattern `~<prefix>*` and these commands: `get`, `set`, `mget`, `incrby`, `multi`,
 * `exec`, `unlink`, `exists`, `pttl`, `pexpire`, `persist`, `scan`, `ping`, `eval`, `evalsha`, `hello`, `auth`
 * (plus `client|setname` with `connectionName`).
 *
 * @since 0.1.0
 */

import type { ConnectionOptions as TlsOptions } from "node:tls"
import type { Backend } from "@cachet/core/Backend"
import * as Cache from "@cachet/core/Cache"
import { type CacheError, CacheInvalidInputError } from "@cachet/core/CacheError"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import * as internalBackend from "./internal/backend.js"
import * as circuit from "./internal/circuit.js"
import * as client from "./internal/client.js"

/**
 * Circuit breaker settings: after `failureThreshold` consecutive unavailable or timeout failures (default 5),
 * operations fail at once with `CacheUnavailableError` code `CIRCUIT_OPEN` for `cooldown` (default 2 seconds);
 * then one operation probes the server and its outcome closes or re-opens the circuit.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreakerOptions {
  readonly failureThreshold?: number | undefined
  readonly cooldown?: Duration.DurationInput | undefined
}

/**
 * Options that do not depend on how the connection is made, shared by `layer` and `layerFromClient`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisCacheClientOptions extends Cache.Cache.Options {
  /**
   * The startup check (connect and PING) must succeed within this. Default 5 seconds.
   */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /**
   * A command without a reply within this fails with `CacheTimeoutError`; the outcome of a write is then unknown.
   * Default 1 second. With `layerFromClient` it applies only when the client has no `commandTimeout` of its own.
   */
  readonly commandTimeout?: Duration.DurationInput | undefined
  /**
   * Circuit breaker settings, or `false` to turn it off. On by default.
   */
  readonly circuitBreaker?: CircuitBreakerOptions | false | undefined
}

/**
 * Options of a Redis cache: where the server is, how to authenticate, timeouts, retry and the circuit breaker,
 * plus the options of every cache (`prefix`, `defaultTimeToLive`, `timeToLiveJitter`, `codec`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisCacheOptions extends RedisCacheClientOptions {
  /** `redis://[[username]:password@]host[:port][/db]` or `rediss://` for TLS. Explicit fields below win over it. */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Default `"localhost"`. */
  readonly host?: string | undefined
  /** Default 6379. */
  readonly port?: number | undefined
  /** Database index. Default 0. */
  readonly db?: number | undefined
  /** ACL user name (Redis 6 and later). */
  readonly username?: string | undefined
  readonly password?: Redacted.Redacted<string> | undefined
  /** `true`, or Node TLS options (certificates, `servername`). */
  readonly tls?: boolean | TlsOptions | undefined
  /** Pipeline the commands issued in one event-loop tick into one write. Default `false`. */
  readonly autoPipelining?: boolean | undefined
  /** Shown by `CLIENT LIST`. */
  readonly connectionName?: string | undefined
}

const defaultConnectTimeout = 5000
const defaultCommandTimeout = 1000
const defaultFailureThreshold = 5
const defaultCooldown = 2000

const millis = (
  name: string,
  input: Duration.DurationInput | undefined,
  fallback: number
): Effect.Effect<number, CacheInvalidInputError> => {
  if (input === undefined) return Effect.succeed(fallback)
  const decoded = Duration.decodeUnknown(input)
  if (Option.isSome(decoded) && Duration.isFinite(decoded.value)) {
    const ms = Math.ceil(Duration.toMillis(decoded.value))
    if (ms > 0) return Effect.succeed(ms)
  }
  return Effect.fail(
    new CacheInvalidInputError({
      operation: "make",
      code: "INVALID_ARGUMENT",
      reason: `${name} must be a positive, finite duration`
    })
  )
}

interface Timing {
  readonly connectTimeout: number
  readonly commandTimeout: number
}

const timing = (options: RedisCacheClientOptions): Effect.Effect<Timing, CacheInvalidInputError> =>
  Effect.zipWith(
    millis("connectTimeout", options.connectTimeout, defaultConnectTimeout),
    millis("commandTimeout", options.commandTimeout, defaultCommandTimeout),
    (connectTimeout, commandTimeout) => ({ connectTimeout, commandTimeout })
  )

const breaker = (options: RedisCacheClientOptions): Effect.Effect<circuit.CircuitBreaker, CacheInvalidInputError> => {
  const settings = options.circuitBreaker
  if (settings === false) return Effect.succeed(circuit.disabled)
  const threshold = settings?.failureThreshold ?? defaultFailureThreshold
  if (!Number.isInteger(threshold) || threshold < 1) {
    return Effect.fail(
      new CacheInvalidInputError({
        operation: "make",
        code: "INVALID_ARGUMENT",
        reason: "circuitBreaker.failureThreshold must be a positive integer"
      })
    )
  }
  return Effect.zipWith(
    millis("circuitBreaker.cooldown", settings?.cooldown, defaultCooldown),
    Effect.clock,
    (cooldown, clock) => circuit.make({ failureThreshold: threshold, cooldown }, () => clock.unsafeCurrentTimeMillis())
  )
}

const backendOn = (
  c: client.Client,
  options: RedisCacheClientOptions,
  commandTimeout: number
): Effect.Effect<Backend, CacheInvalidInputError> =>
  Effect.map(breaker(options), (circuitBreaker) => internalBackend.make(c, { commandTimeout, circuit: circuitBreaker }))

/**
 * The Redis `Backend` alone, connected and checked, closed with the scope. For building a service by hand or
 * wrapping the backend; most programs use `layer`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBackend = (options: RedisCacheOptions = {}): Effect.Effect<Backend, CacheError, Scope.Scope> =>
  Effect.flatMap(timing(options), ({ connectTimeout, commandTimeout }) =>
    Effect.flatMap(
      client.acquire({
        url: options.url === undefined || typeof options.url === "string" ? options.url : Redacted.value(options.url),
        host: options.host,
        port: options.port,
        db: options.db,
        username: options.username,
        password: options.password === undefined ? undefined : Redacted.value(options.password),
        tls: options.tls,
        connectTimeout,
        commandTimeout,
        autoPipelining: options.autoPipelining ?? false,
        connectionName: options.connectionName
      }),
      (c) => backendOn(c, options, commandTimeout)
    )
  )

/**
 * The Redis `Backend` on an ioredis client you own: checked with PING within `connectTimeout`, never closed by
 * Cachet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBackendFromClient = (
  redis: Redis,
  options: RedisCacheClientOptions = {}
): Effect.Effect<Backend, CacheError> =>
  Effect.flatMap(timing(options), ({ connectTimeout, commandTimeout }) => {
    const c = client.fromRedis(redis)
    return Effect.zipRight(
      client.check(c.ping, connectTimeout, () => undefined),
      backendOn(c, options, commandTimeout)
    )
  })

/**
 * A `Cache` service on Redis, connected within the scope and closed with a bounded QUIT when it closes.
 *
 * @example
 * ```ts
 * import { RedisCache } from "@cachet/redis"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const cache = yield* RedisCache.make({ url: "redis://localhost:6379", prefix: "app:" })
 *     yield* cache.set("greeting", "hello", { timeToLive: "1 minute" })
 *     return yield* cache.get("greeting")
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: RedisCacheOptions = {}): Effect.Effect<Cache.Cache.Service, CacheError, Scope.Scope> =>
  Effect.flatMap(makeBackend(options), (backend) => Cache.make(backend, options))

/**
 * The `Cache` layer on Redis. Building it connects and PINGs within `connectTimeout` and fails with a
 * `CacheUnavailableError` (refused, wrong password) or `CacheTimeoutError` rather than hang.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { RedisCache } from "@cachet/redis"
 * import { Effect, Redacted } from "effect"
 *
 * const CacheLive = RedisCache.layer({
 *   host: "localhost",
 *   port: 6379,
 *   password: Redacted.make("secret"),
 *   prefix: "app:",
 *   defaultTimeToLive: "10 minutes",
 *   commandTimeout: "500 millis"
 * })
 *
 * const program = Cache.set("greeting", "hello").pipe(Effect.provide(CacheLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: RedisCacheOptions = {}): Layer.Layer<Cache.Cache, CacheError> =>
  Layer.scoped(Cache.Cache, make(options))

/**
 * The `Cache` layer on an ioredis client you own and close yourself: Cachet PINGs it at startup and never quits
 * it. Its own settings stay in force (offline queue, retries); when it has no `commandTimeout`, Cachet bounds each
 * command by the `commandTimeout` option.
 *
 * @example
 * ```ts
 * import { RedisCache } from "@cachet/redis"
 * import { Redis } from "ioredis"
 *
 * const redis = new Redis({ lazyConnect: true, commandTimeout: 1000 })
 * const CacheLive = RedisCache.layerFromClient(redis, { prefix: "app:" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromClient = (
  redis: Redis,
  options: RedisCacheClientOptions = {}
): Layer.Layer<Cache.Cache, CacheError> =>
  Layer.scoped(
    Cache.Cache,
    Effect.flatMap(makeBackendFromClient(redis, options), (backend) => Cache.make(backend, options))
  )

const optionalDuration = (
  name: string,
  text: Option.Option<string>
): Effect.Effect<Duration.Duration | undefined, CacheInvalidInputError> =>
  Option.isNone(text)
    ? Effect.succeed(undefined)
    : Effect.mapError(
        Cache.parseTimeToLive(text.value),
        (error) =>
          new CacheInvalidInputError({
            operation: "layerConfig",
            code: "INVALID_DURATION",
            reason: `${name}: ${error.reason}`,
            cause: error
          })
      )

/**
 * The options read from the environment: `REDIS_URL`, or `REDIS_HOST`, `REDIS_PORT`, `REDIS_DB`,
 * `REDIS_USERNAME`, `REDIS_PASSWORD`, `REDIS_TLS`; and `CACHE_PREFIX`, `CACHE_DEFAULT_TTL`,
 * `CACHE_COMMAND_TIMEOUT` (durations in Effect's form or the compact one, `"90s"`, `"2h30m"`).
 *
 * A missing or malformed variable fails with Effect's `ConfigError`; a malformed duration with
 * `CacheInvalidInputError` code `INVALID_DURATION`.
 *
 * @since 0.1.0
 * @category config
 */
export const fromEnvironment: Effect.Effect<RedisCacheOptions, ConfigError.ConfigError | CacheInvalidInputError> =
  Effect.flatMap(
    Config.all({
      url: Config.option(Config.redacted("REDIS_URL")),
      host: Config.option(Config.string("REDIS_HOST")),
      port: Config.option(Config.port("REDIS_PORT")),
      db: Config.option(Config.integer("REDIS_DB")),
      username: Config.option(Config.string("REDIS_USERNAME")),
      password: Config.option(Config.redacted("REDIS_PASSWORD")),
      tls: Config.withDefault(Config.boolean("REDIS_TLS"), false),
      prefix: Config.option(Config.string("CACHE_PREFIX")),
      defaultTimeToLive: Config.option(Config.string("CACHE_DEFAULT_TTL")),
      commandTimeout: Config.option(Config.string("CACHE_COMMAND_TIMEOUT"))
    }),
    (env) =>
      Effect.zipWith(
        optionalDuration("CACHE_DEFAULT_TTL", env.defaultTimeToLive),
        optionalDuration("CACHE_COMMAND_TIMEOUT", env.commandTimeout),
        (defaultTimeToLive, commandTimeout): RedisCacheOptions => ({
          url: Option.getOrUndefined(env.url),
          host: Option.getOrUndefined(env.host),
          port: Option.getOrUndefined(env.port),
          db: Option.getOrUndefined(env.db),
          username: Option.getOrUndefined(env.username),
          password: Option.getOrUndefined(env.password),
          tls: env.tls,
          prefix: Option.getOrUndefined(env.prefix),
          defaultTimeToLive,
          commandTimeout
        })
      )
  )

/**
 * The `Cache` layer on Redis from configuration: by default the environment variables of `fromEnvironment`, or
 * any `Config` of the options.
 *
 * @example
 * ```ts
 * import { Cache } from "@cachet/core"
 * import { RedisCache } from "@cachet/redis"
 * import { Config, Effect } from "effect"
 *
 * // REDIS_URL=redis://cache:6379 CACHE_PREFIX=app: CACHE_DEFAULT_TTL=10m
 * const FromEnvironment = RedisCache.layerConfig()
 *
 * const Explicit = RedisCache.layerConfig({ url: Config.redacted("CACHE_URL"), prefix: Config.succeed("app:") })
 *
 * const program = Cache.get("greeting").pipe(Effect.provide(FromEnvironment))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config?: Config.Config.Wrap<RedisCacheOptions>
): Layer.Layer<Cache.Cache, CacheError | ConfigError.ConfigError> =>
  Layer.scoped(
    Cache.Cache,
    Effect.flatMap(config === undefined ? fromEnvironment : Config.unwrap(config), (options) => make(options))
  )
