/**
 * The Redis backend, on ioredis. Every operation is one Redis command (or one small script), every failure a
 * typed `CacheError`, and nothing waits forever: the connection is checked at startup within `connectTimeout`,
 * every command is bounded by `commandTimeout`, and a circuit breaker fails fast while the server is down. The
 * connection reconnects by itself, so the same layer recovers after a restart; with `startup: "lazy"` the layer
 * does not wait for the first connection either.
 *
 * It connects to one server, to the master a group of sentinels points at (`sentinel`), or to a Redis Cluster
 * (`cluster`), where multi-key operations are split by hash slot.
 *
 * An ACL user needs the key pattern `~<prefix>*` and these commands: `get`, `set`, `mget`, `incrby`, `multi`,
 * `exec`, `unlink`, `exists`, `pttl`, `pexpire`, `persist`, `scan`, `ping`, `eval`, `evalsha`, `eval_ro`, `evalsha_ro`,
 * `hello`, `auth` (plus `client|setname` with `connectionName`; on a Cluster also `cluster|slots`, `cluster|info`,
 * `readonly` and `client|setname`).
 *
 * @since 0.1.0
 */

import type { ConnectionOptions as TlsOptions } from "node:tls"
import type { Backend } from "@cachet/core/Backend"
import type * as Cache from "@cachet/core/Cache"
import type { CacheError, CacheInvalidInputError } from "@cachet/core/CacheError"
import type * as CircuitBreaker from "@cachet/core/CircuitBreaker"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Cluster, Redis } from "ioredis"
import * as environment from "./internal/environment.js"
import * as internal from "./internal/redisCache.js"

/**
 * Circuit breaker settings: after `failureThreshold` consecutive unavailable or timeout failures (default 5),
 * operations fail at once with `CacheUnavailableError` code `CIRCUIT_OPEN` for `cooldown` (default 2 seconds);
 * then one operation probes the server and its outcome closes or re-opens the circuit. There is one circuit per
 * server: the server, or the Sentinel group's master; on a Cluster, each master for the keys of its slots.
 *
 * @since 0.1.0
 * @category models
 */
export type CircuitBreakerOptions = CircuitBreaker.Options

/**
 * Options that do not depend on how the connection is made, shared by `layer` and `layerFromClient`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisCacheClientOptions extends Cache.Cache.Options {
  /**
   * The startup check (connect and PING) must succeed within this, and so must every connection attempt (with a
   * lazy startup, the background ones). Default 5 seconds.
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
  /**
   * Coalesce concurrent single-key commands: the `get`s (and `set`s, and `getOrSet` reads) issued in the same turn
   * of the event loop, by many fibers at once, go to the server as one script call per 16 keys instead of one
   * command each: one write, one reply and one command timer for the lot, which raises throughput under concurrency
   * (see `bench/README.md`). Each key still gets its own answer and its own error; the first command of a turn goes
   * out at once as the plain command, so a lone command waits for nothing; commands reach the server in the order
   * they were issued, as without batching. A batch of sets also stops at about 1 MiB of keys and values (a larger
   * value goes alone). On a Cluster, the commands on keys of one hash slot are batched together (a script call's
   * keys must share a slot), so batching pays where concurrent keys share slots: keys with one hash tag (`{user:42}:
   * profile`, `{user:42}:cart`). Default `true`.
   *
   * @since 0.3.0
   */
  readonly batching?: boolean | undefined
}

/**
 * A server's address: `{ host, port }`, `"host:port"` (`"[::1]:7000"` for IPv6), or a `redis://host:port` or
 * `rediss://host:port` URL. Only the host and port are read: `username`, `password` and `tls` say how to log in and
 * whether to use TLS.
 *
 * @since 0.2.0
 * @category models
 */
export type RedisAddress = { readonly host: string; readonly port: number } | string

/**
 * Where a Redis Cluster is, and how patiently a command rides out its reconfigurations.
 *
 * Multi-key operations are split by hash slot, one command per slot, all sent at once: `getMany` is one GET script
 * per slot; `setMany` is one MULTI/EXEC per slot, so it is atomic within each slot and not across slots (if one slot
 * fails, the others may be written); `deleteMany`, `deletePattern` and `clear` UNLINK per slot. Keys that share a
 * hash tag (`{user:1}:profile`, `{user:1}:settings`: only the part between the first `{` and the next `}` is hashed)
 * share a slot, which makes a `setMany` of them all or nothing. `keys`, `deletePattern` and `clear` SCAN every
 * master. MOVED and ASK redirections are followed by the client.
 *
 * @since 0.2.0
 * @category models
 */
export interface RedisClusterOptions {
  /**
   * Some of the Cluster's nodes (the others are discovered); more than one, so that startup survives one being
   * down. Default port 6379.
   */
  readonly nodes: ReadonlyArray<RedisAddress>
  /**
   * How many redirections (MOVED, ASK) and retries (TRYAGAIN, CLUSTERDOWN) one command may go through before it
   * fails with `CacheUnavailableError` code `CLUSTER_DOWN`. Default 16. Every command is bounded by `commandTimeout`
   * all the same, and none is sent again once Cachet has answered for it.
   */
  readonly maxRedirections?: number | undefined
  /**
   * Wait before retrying a command answered TRYAGAIN (a multi-key command during a slot migration; it did not
   * run). Default 100 milliseconds.
   */
  readonly retryDelayOnTryAgain?: Duration.DurationInput | undefined
  /**
   * Wait before retrying a command answered CLUSTERDOWN (a slot without a master while a failover runs; it did not
   * run), refreshing the slot map meanwhile. Default 100 milliseconds; zero fails at once.
   */
  readonly retryDelayOnClusterDown?: Duration.DurationInput | undefined
  /**
   * Resend, after this wait and a refresh of the slot map, a command whose node connection closed. Off (zero) by
   * default: a command already written may have run before the connection dropped, and a resent `increment` or
   * `add` would then apply twice. Such failures surface as `CacheUnavailableError` (retryable).
   */
  readonly retryDelayOnFailover?: Duration.DurationInput | undefined
}

/**
 * The sentinels that watch a master (and its replicas), and how to talk to them. The cache connects to the master
 * they name, asks them again on every reconnection, and so follows a failover without being rebuilt.
 *
 * @since 0.2.0
 * @category models
 */
export interface RedisSentinelOptions {
  /** Some of the sentinels (the others are discovered). Default port 26379. */
  readonly sentinels: ReadonlyArray<RedisAddress>
  /** The name of the master group, as in `sentinel monitor <name> ...`. */
  readonly name: string
  /** ACL user name on the sentinels. */
  readonly sentinelUsername?: string | undefined
  /** Password of the sentinels (`requirepass` or the ACL user's); the master's is `password`. */
  readonly sentinelPassword?: Redacted.Redacted<string> | undefined
  /** TLS to the sentinels: `true`, or Node TLS options. `tls` applies to the master. */
  readonly sentinelTls?: boolean | TlsOptions | undefined
}

/**
 * Options of a Redis cache: where the server is (one server, through Sentinel, or a Cluster), how to
 * authenticate, timeouts, retry and the circuit breaker, plus the options of every cache (`prefix`,
 * `defaultTimeToLive`, `timeToLiveJitter`, `codec`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RedisCacheOptions extends RedisCacheClientOptions {
  /**
   * `redis://[[username]:password@]host[:port][/db]`, or `rediss://` for TLS; no query parameters. Any other shape
   * fails with `CacheInvalidInputError` code `INVALID_ARGUMENT` (the url is never echoed). Explicit fields below win
   * over it.
   */
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
  /**
   * Pipeline the commands issued in one event-loop tick into one write. Not used on a Cluster, where ioredis
   * re-sends a pipeline whole after a redirection, beyond the command timeout. Default `false`.
   */
  readonly autoPipelining?: boolean | undefined
  /** Shown by `CLIENT LIST`. */
  readonly connectionName?: string | undefined
  /**
   * A Redis Cluster instead of one server; `url`, `host`, `port` and `db` do not apply. `username`, `password` and
   * `tls` apply to every node. At startup the Cluster must report `cluster_state:ok` and every master must answer
   * PING within `connectTimeout`.
   *
   * @since 0.2.0
   */
  readonly cluster?: RedisClusterOptions | undefined
  /**
   * The master that Sentinel names instead of a fixed server; `url`, `host` and `port` do not apply. `username`,
   * `password`, `tls` and `db` apply to the master.
   *
   * @since 0.2.0
   */
  readonly sentinel?: RedisSentinelOptions | undefined
  /**
   * `"check"` (the default): building the layer connects and checks the server within `connectTimeout`, and fails
   * with `CacheUnavailableError` or `CacheTimeoutError` when it cannot (a server that is down, a wrong password).
   * `"lazy"`: the layer is built at once, even with the server down, and connects in the background, reconnecting
   * until it succeeds; meanwhile every operation fails fast with `CacheUnavailableError` (retryable), which
   * `Cache.failOpen` turns into misses and no-op writes, and the same layer serves once the server answers. Bad
   * options still fail the build; the startup checks of a server (that it answers, that a `url` is not a Cluster
   * node) do not run.
   *
   * @since 0.1.0
   */
  readonly startup?: "check" | "lazy" | undefined
}

/**
 * The Redis `Backend` alone, connected and checked, closed with the scope. For building a service by hand or
 * wrapping the backend; most programs use `layer`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBackend: (options?: RedisCacheOptions) => Effect.Effect<Backend, CacheError, Scope.Scope> =
  internal.makeBackend

/**
 * The Redis `Backend` on an ioredis client (standalone or Cluster) you own: checked with PING within
 * `connectTimeout`, never closed by Cachet.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeBackendFromClient: (
  redis: Redis | Cluster,
  options?: RedisCacheClientOptions
) => Effect.Effect<Backend, CacheError> = internal.makeBackendFromClient

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
export const make: (options?: RedisCacheOptions) => Effect.Effect<Cache.Cache.Service, CacheError, Scope.Scope> =
  internal.make

/**
 * The `Cache` layer on Redis. Building it connects and PINGs within `connectTimeout` and fails with a
 * `CacheUnavailableError` (refused, wrong password) or `CacheTimeoutError` rather than hang; the error names the
 * server. With `startup: "lazy"` it is built at once and connects in the background.
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
export const layer: (options?: RedisCacheOptions) => Layer.Layer<Cache.Cache, CacheError> = internal.layer

/**
 * The `Cache` layer on an ioredis client (a `Redis`, or since 0.2.0 a `Cluster`) you own and close yourself: Cachet
 * PINGs it at startup and never quits it. Its own settings stay in force (offline queue, retries); Cachet bounds
 * each command by the `commandTimeout` option when the client is a `Cluster` or a `Redis` without a
 * `commandTimeout` of its own. A `Redis` with an offline queue or `autoResendUnfulfilledCommands`, or a `Cluster`
 * with `enableAutoPipelining`, may send a command after Cachet answered for it.
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
export const layerFromClient: (
  redis: Redis | Cluster,
  options?: RedisCacheClientOptions
) => Layer.Layer<Cache.Cache, CacheError> = internal.layerFromClient

/**
 * The options read from the environment: `REDIS_URL`, or `REDIS_HOST`, `REDIS_PORT`, `REDIS_DB`,
 * `REDIS_USERNAME`, `REDIS_PASSWORD`, `REDIS_TLS`; and `CACHE_PREFIX`, `CACHE_DEFAULT_TTL`,
 * `CACHE_COMMAND_TIMEOUT` (durations in Effect's form or the compact one, `"90s"`, `"2h30m"`), `CACHE_STARTUP`
 * (`check` or `lazy`, since 0.4.0).
 *
 * A Cluster instead of one server: `REDIS_CLUSTER_NODES` (`"host1:7000,host2:7000"`). Through Sentinel:
 * `REDIS_SENTINELS` (`"host1:26379,host2:26379"`) with `REDIS_SENTINEL_NAME` (the master group), and optionally
 * `REDIS_SENTINEL_USERNAME`, `REDIS_SENTINEL_PASSWORD`. `REDIS_USERNAME`, `REDIS_PASSWORD` and `REDIS_TLS` apply
 * to the Cluster's nodes or the master.
 *
 * A missing or malformed variable fails with Effect's `ConfigError`; a malformed duration with
 * `CacheInvalidInputError` code `INVALID_DURATION`.
 *
 * @since 0.1.0
 * @category config
 */
export const fromEnvironment: Effect.Effect<RedisCacheOptions, ConfigError.ConfigError | CacheInvalidInputError> =
  environment.fromEnvironment

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
export const layerConfig: (
  config?: Config.Config.Wrap<RedisCacheOptions>
) => Layer.Layer<Cache.Cache, CacheError | ConfigError.ConfigError> = internal.layerConfig
