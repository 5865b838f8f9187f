/**
 * The options of a Redis cache read from the environment (through Effect's `Config`, so any `ConfigProvider`
 * serves): where the server is, how to log in, and the cache's own settings.
 */

import * as Cache from "@cachet/core/Cache"
import { CacheInvalidInputError } from "@cachet/core/CacheError"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { RedisCacheOptions, RedisSentinelOptions } from "../RedisCache.js"

// A variable's text goes through the core's parser, which also takes the compact forms (`90s`, `2h30m`); the layer
// then checks the duration as it checks any option.
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

// A comma-separated list of addresses; empty or blank means absent.
const addressList = (name: string): Config.Config<Option.Option<ReadonlyArray<string>>> =>
  Config.map(
    Config.option(Config.string(name)),
    Option.flatMap((text) => {
      const list = text
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "")
      return list.length === 0 ? Option.none() : Option.some(list)
    })
  )

/** The options read from the environment variables that `RedisCache.fromEnvironment` lists. */
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
      clusterNodes: addressList("REDIS_CLUSTER_NODES"),
      sentinels: addressList("REDIS_SENTINELS"),
      sentinelName: Config.option(Config.string("REDIS_SENTINEL_NAME")),
      sentinelUsername: Config.option(Config.string("REDIS_SENTINEL_USERNAME")),
      sentinelPassword: Config.option(Config.redacted("REDIS_SENTINEL_PASSWORD")),
      prefix: Config.option(Config.string("CACHE_PREFIX")),
      defaultTimeToLive: Config.option(Config.string("CACHE_DEFAULT_TTL")),
      commandTimeout: Config.option(Config.string("CACHE_COMMAND_TIMEOUT")),
      startup: Config.option(Config.literal("check", "lazy")("CACHE_STARTUP")),
      localCapacity: Config.option(Config.integer("CACHE_LOCAL_CAPACITY")),
      localTimeToLive: Config.option(Config.string("CACHE_LOCAL_TTL"))
    }),
    (env) =>
      Effect.gen(function* () {
        const located =
          Option.isSome(env.url) ||
          Option.isSome(env.host) ||
          Option.isSome(env.clusterNodes) ||
          Option.isSome(env.sentinels)
        if (!located) {
          return yield* Effect.fail(
            ConfigError.MissingData(
              [],
              "no Redis location in the environment: set REDIS_URL, REDIS_HOST (with REDIS_PORT), REDIS_CLUSTER_NODES, or REDIS_SENTINELS with REDIS_SENTINEL_NAME"
            )
          )
        }
        // An empty prefix would put the cache's keys among everyone else's: a blank variable is a mistake, not a choice.
        if (Option.isSome(env.prefix) && env.prefix.value === "") {
          return yield* Effect.fail(
            ConfigError.InvalidData(
              ["CACHE_PREFIX"],
              'CACHE_PREFIX is empty: unset it for the default prefix "cachet:", or give a prefix such as "app:"'
            )
          )
        }
        const defaultTimeToLive = yield* optionalDuration("CACHE_DEFAULT_TTL", env.defaultTimeToLive)
        const commandTimeout = yield* optionalDuration("CACHE_COMMAND_TIMEOUT", env.commandTimeout)
        // A local tier needs both its bound and the life of its entries: one without the other is a mistake.
        if (Option.isSome(env.localCapacity) !== Option.isSome(env.localTimeToLive)) {
          const missing = Option.isSome(env.localCapacity) ? "CACHE_LOCAL_TTL" : "CACHE_LOCAL_CAPACITY"
          return yield* Effect.fail(
            ConfigError.MissingData([missing], "a local tier needs both CACHE_LOCAL_CAPACITY and CACHE_LOCAL_TTL")
          )
        }
        const localTimeToLive = yield* optionalDuration("CACHE_LOCAL_TTL", env.localTimeToLive)
        let sentinel: RedisSentinelOptions | undefined
        if (Option.isSome(env.sentinels)) {
          if (Option.isNone(env.sentinelName)) {
            return yield* Effect.fail(
              ConfigError.MissingData(["REDIS_SENTINEL_NAME"], "REDIS_SENTINELS needs REDIS_SENTINEL_NAME")
            )
          }
          sentinel = {
            sentinels: env.sentinels.value,
            name: env.sentinelName.value,
            sentinelUsername: Option.getOrUndefined(env.sentinelUsername),
            sentinelPassword: Option.getOrUndefined(env.sentinelPassword)
          }
        }
        const options: RedisCacheOptions = {
          url: Option.getOrUndefined(env.url),
          host: Option.getOrUndefined(env.host),
          port: Option.getOrUndefined(env.port),
          db: Option.getOrUndefined(env.db),
          username: Option.getOrUndefined(env.username),
          password: Option.getOrUndefined(env.password),
          tls: env.tls,
          cluster: Option.isSome(env.clusterNodes) ? { nodes: env.clusterNodes.value } : undefined,
          sentinel,
          prefix: Option.getOrUndefined(env.prefix),
          defaultTimeToLive,
          commandTimeout,
          startup: Option.getOrUndefined(env.startup),
          local:
            Option.isSome(env.localCapacity) && localTimeToLive !== undefined
              ? { capacity: env.localCapacity.value, timeToLive: localTimeToLive }
              : undefined
        }
        return options
      })
  )
