/**
 * The constructors and layers of `RedisCache`: options checked (`settings.ts`), a connection to the topology they
 * name, a circuit breaker per server, and the backend on top.
 */

import type { Backend } from "@cachet/core/Backend"
import * as Cache from "@cachet/core/Cache"
import type { CacheError } from "@cachet/core/CacheError"
import * as CircuitBreaker from "@cachet/core/CircuitBreaker"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { Cluster, type Redis } from "ioredis"
import type { RedisCacheClientOptions, RedisCacheOptions } from "../RedisCache.js"
import * as internalBackend from "./backend.js"
import * as cluster from "./cluster.js"
import type { Client } from "./commands.js"
import { check } from "./connection.js"
import { fromEnvironment } from "./environment.js"
import * as Settings from "./settings.js"
import * as standalone from "./standalone.js"

/** The breaker of the one server (or the Sentinel group's master). */
const oneServer = (settings: CircuitBreaker.Settings | undefined): Effect.Effect<CircuitBreaker.CircuitBreaker> =>
  settings === undefined ? Effect.succeed(CircuitBreaker.disabled) : CircuitBreaker.make(settings)

/** The breakers of a Cluster's masters, by `host:port`. */
const perMaster = (
  settings: CircuitBreaker.Settings | undefined
): Effect.Effect<(server: string) => CircuitBreaker.CircuitBreaker> =>
  settings === undefined ? Effect.succeed(() => CircuitBreaker.disabled) : CircuitBreaker.keyed(settings)

// A Cluster's client breaks per master itself; any other client's server is the backend's.
const onCluster = (client: Client, commandTimeout: number): Backend =>
  internalBackend.make(client, { commandTimeout, circuit: CircuitBreaker.disabled })

export const makeBackend = (options: RedisCacheOptions = {}): Effect.Effect<Backend, CacheError, Scope.Scope> =>
  Effect.flatMap(
    Settings.read(() => Settings.resolve(options)),
    ({ circuitBreaker, connection }) => {
      const { commandTimeout } = connection.settings
      if (connection._tag === "Cluster") {
        return Effect.flatMap(perMaster(circuitBreaker), (circuits) =>
          Effect.map(cluster.acquire(connection.settings, circuits), (client) => onCluster(client, commandTimeout))
        )
      }
      return Effect.flatMap(oneServer(circuitBreaker), (circuit) =>
        Effect.map(standalone.acquire(connection.settings), (client) =>
          internalBackend.make(client, { commandTimeout, circuit })
        )
      )
    }
  )

export const makeBackendFromClient = (
  redis: Redis | Cluster,
  options: RedisCacheClientOptions = {}
): Effect.Effect<Backend, CacheError> =>
  Effect.flatMap(
    Settings.read(() => Settings.client(options)),
    ({ connectTimeout, commandTimeout, circuitBreaker, batching }) => {
      const checked = (client: Client, backend: Backend) =>
        Effect.as(
          check(client.ping, connectTimeout, () => undefined),
          backend
        )
      if (redis instanceof Cluster) {
        return Effect.flatMap(perMaster(circuitBreaker), (circuits) => {
          const client = cluster.fromCluster(redis, { commandTimeout, circuits, batching })
          return checked(client, onCluster(client, commandTimeout))
        })
      }
      return Effect.flatMap(oneServer(circuitBreaker), (circuit) => {
        const client = standalone.fromRedis(redis, batching)
        return checked(client, internalBackend.make(client, { commandTimeout, circuit }))
      })
    }
  )

// The options the core reads are checked before connecting: bad ones fail typed whether or not the server answers.
export const make = (options: RedisCacheOptions = {}): Effect.Effect<Cache.Cache.Service, CacheError, Scope.Scope> =>
  Effect.zipRight(
    Cache.checkOptions(options),
    Effect.flatMap(makeBackend(options), (backend) => Cache.make(backend, options))
  )

export const layer = (options: RedisCacheOptions = {}): Layer.Layer<Cache.Cache, CacheError> =>
  Layer.scoped(Cache.Cache, make(options))

export const layerFromClient = (
  redis: Redis | Cluster,
  options: RedisCacheClientOptions = {}
): Layer.Layer<Cache.Cache, CacheError> =>
  Layer.scoped(
    Cache.Cache,
    Effect.flatMap(makeBackendFromClient(redis, options), (backend) => Cache.make(backend, options))
  )

export const layerConfig = (
  config?: Config.Config.Wrap<RedisCacheOptions>
): Layer.Layer<Cache.Cache, CacheError | ConfigError.ConfigError> =>
  Layer.scoped(
    Cache.Cache,
    Effect.flatMap(config === undefined ? fromEnvironment : Config.unwrap(config), (options) => make(options))
  )
