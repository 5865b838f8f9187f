/**
 * The options of a Redis cache, checked once, before anything connects, into the settings the connection modules
 * take: durations in whole milliseconds, addresses parsed, passwords unwrapped from their `Redacted` (they then live
 * only in the driver's options), defaults filled in. Callers may be plain JavaScript, so nothing is trusted from the
 * static types. Every check answers an `Either`, whose `Left` is the `CacheInvalidInputError` the build fails with.
 */

import type { ConnectionOptions as TlsOptions } from "node:tls"
import { CacheInvalidInputError } from "@cachet/core/CacheError"
import * as CircuitBreaker from "@cachet/core/CircuitBreaker"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type {
  RedisAddress,
  RedisCacheClientOptions,
  RedisCacheOptions,
  RedisClusterOptions,
  RedisSentinelOptions
} from "../RedisCache.js"
import type { ClusterSettings } from "./cluster.js"
import type { Address, CommonSettings } from "./connection.js"
import type { SentinelSettings } from "./sentinel.js"
import type { ConnectionSettings } from "./standalone.js"

type Checked<A> = Either.Either<A, CacheInvalidInputError>

/**
 * What does not depend on how the connection is made: all that `layerFromClient` takes.
 */
export interface ClientSettings {
  readonly connectTimeout: number
  readonly commandTimeout: number
  /** `undefined` when the circuit breaker is off. */
  readonly circuitBreaker: CircuitBreaker.Settings | undefined
  readonly batching: boolean
}

/**
 * Where to connect: one server (directly or through Sentinel), or a Cluster.
 */
export type Connection =
  | { readonly _tag: "Server"; readonly settings: ConnectionSettings }
  | { readonly _tag: "Cluster"; readonly settings: ClusterSettings }

export interface Settings {
  readonly circuitBreaker: CircuitBreaker.Settings | undefined
  readonly connection: Connection
}

const defaultConnectTimeout = 5000
const defaultCommandTimeout = 1000
const defaultRedisPort = 6379
const defaultSentinelPort = 26379
const defaultMaxRedirections = 16
const defaultRetryDelay = 100

const invalid = (reason: string): CacheInvalidInputError =>
  new CacheInvalidInputError({ operation: "make", code: "INVALID_ARGUMENT", reason })

const refuse = (reason: string): Checked<never> => Either.left(invalid(reason))

/**
 * The settings `check` reads from the options, when the Effect runs: options that are not an object, or that throw
 * when read (a caller's getter or Proxy), are refused like every other bad option.
 */
export const read = <A>(check: () => Checked<A>): Effect.Effect<A, CacheInvalidInputError> =>
  Effect.suspend(() => {
    try {
      return check()
    } catch (cause) {
      return Effect.fail(
        new CacheInvalidInputError({
          operation: "make",
          code: "INVALID_ARGUMENT",
          reason: "reading an option threw (a getter or a Proxy trap)",
          cause
        })
      )
    }
  })

/** A duration option in whole milliseconds, rounded up: finite, and at least `minimum`. */
const duration = (
  name: string,
  input: Duration.DurationInput | undefined,
  fallback: number,
  minimum: 0 | 1 = 1
): Checked<number> => {
  if (input === undefined) return Either.right(fallback)
  const decoded = Duration.decodeUnknown(input)
  if (Option.isSome(decoded) && Duration.isFinite(decoded.value)) {
    const ms = Math.ceil(Duration.toMillis(decoded.value))
    if (ms >= minimum) return Either.right(ms)
  }
  return refuse(`${name} must be a ${minimum === 1 ? "positive" : "non-negative"}, finite duration`)
}

/** An option that is absent or passes `is`; the refusal names the option, never its value (it may be a secret). */
const optional = <A>(
  name: string,
  input: A | undefined,
  is: (input: unknown) => boolean,
  what: string
): Checked<A | undefined> =>
  input === undefined || is(input) ? Either.right(input) : refuse(`${name} must be ${what}`)

const isBoolean = (input: unknown): boolean => typeof input === "boolean"
const isString = (input: unknown): boolean => typeof input === "string"
const isObject = (input: unknown): boolean => typeof input === "object" && input !== null && !Array.isArray(input)
const isSecret = (input: unknown): boolean => Redacted.isRedacted(input) && typeof Redacted.value(input) === "string"
const isTls = (input: unknown): boolean => isBoolean(input) || isObject(input)

const positiveInteger = (name: string, input: number): Checked<number> =>
  Number.isInteger(input) && input >= 1 ? Either.right(input) : refuse(`${name} must be a positive integer`)

const validPort = (port: unknown): port is number =>
  typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535

const validDb = (db: unknown): db is number => typeof db === "number" && Number.isInteger(db) && db >= 0

const parseUrl = (text: string): URL | undefined => {
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}

const hostOf = (url: URL): string => (url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname)

const addressOf = (name: string, input: RedisAddress, defaultPort: number): Checked<Address> => {
  // The input is not echoed: a URL may carry a password.
  const problem = refuse(`${name} must be { host, port }, "host:port" or a redis:// URL without credentials`)
  if (typeof input !== "string") {
    return isObject(input) && typeof input.host === "string" && input.host !== "" && validPort(input.port)
      ? Either.right({ host: input.host, port: input.port })
      : problem
  }
  const url = parseUrl(input.includes("://") ? input : `redis://${input}`)
  if (url === undefined) return problem
  const host = hostOf(url)
  const port = url.port === "" ? defaultPort : Number(url.port)
  const onlyAddress =
    (url.protocol === "redis:" || url.protocol === "rediss:") &&
    url.username === "" &&
    url.password === "" &&
    (url.pathname === "" || url.pathname === "/") &&
    url.search === "" &&
    url.hash === ""
  return onlyAddress && host !== "" && validPort(port) ? Either.right({ host, port }) : problem
}

const addresses = (
  name: string,
  inputs: ReadonlyArray<RedisAddress>,
  defaultPort: number
): Checked<ReadonlyArray<Address>> =>
  !Array.isArray(inputs) || inputs.length === 0
    ? refuse(`${name} must list at least one address`)
    : Either.all(inputs.map((input, i) => addressOf(`${name}[${i}]`, input, defaultPort)))

const unwrap = (secret: Redacted.Redacted<string> | undefined): string | undefined =>
  secret === undefined ? undefined : Redacted.value(secret)

/**
 * The timeouts, the circuit breaker and batching: the options of `layerFromClient`, and the first ones `layer`
 * checks.
 */
export const client = (options: RedisCacheClientOptions): Checked<ClientSettings> =>
  Either.gen(function* () {
    if (!isObject(options)) return yield* refuse("the options must be an object")
    const connectTimeout = yield* duration("connectTimeout", options.connectTimeout, defaultConnectTimeout)
    const commandTimeout = yield* duration("commandTimeout", options.commandTimeout, defaultCommandTimeout)
    const circuitBreaker =
      options.circuitBreaker === false ? undefined : yield* CircuitBreaker.settings(options.circuitBreaker)
    const batching = yield* optional("batching", options.batching, isBoolean, "a boolean")
    return { connectTimeout, commandTimeout, circuitBreaker, batching: batching ?? true }
  })

const clusterSettings = (options: RedisClusterOptions, common: CommonSettings): Checked<ClusterSettings> =>
  Either.gen(function* () {
    if (!isObject(options)) return yield* refuse("cluster must be { nodes }")
    const maxRedirections = yield* positiveInteger(
      "cluster.maxRedirections",
      options.maxRedirections === undefined ? defaultMaxRedirections : options.maxRedirections
    )
    const nodes = yield* addresses("cluster.nodes", options.nodes, defaultRedisPort)
    const retryDelayOnFailover = yield* duration("cluster.retryDelayOnFailover", options.retryDelayOnFailover, 0, 0)
    const retryDelayOnTryAgain = yield* duration(
      "cluster.retryDelayOnTryAgain",
      options.retryDelayOnTryAgain,
      defaultRetryDelay,
      0
    )
    const retryDelayOnClusterDown = yield* duration(
      "cluster.retryDelayOnClusterDown",
      options.retryDelayOnClusterDown,
      defaultRetryDelay,
      0
    )
    return { ...common, nodes, retryDelayOnFailover, retryDelayOnTryAgain, retryDelayOnClusterDown, maxRedirections }
  })

const sentinelSettings = (options: RedisSentinelOptions): Checked<SentinelSettings> =>
  Either.gen(function* () {
    if (!isObject(options)) return yield* refuse("sentinel must be { sentinels, name }")
    if (typeof options.name !== "string" || options.name === "") {
      return yield* refuse("sentinel.name must name the master group")
    }
    const sentinels = yield* addresses("sentinel.sentinels", options.sentinels, defaultSentinelPort)
    const username = yield* optional("sentinel.sentinelUsername", options.sentinelUsername, isString, "a string")
    const password = yield* optional(
      "sentinel.sentinelPassword",
      options.sentinelPassword,
      isSecret,
      "a Redacted string"
    )
    const tls = yield* optional("sentinel.sentinelTls", options.sentinelTls, isTls, "a boolean or TLS options")
    return { sentinels, name: options.name, username, password: unwrap(password), tls }
  })

interface Server {
  readonly host: string | undefined
  readonly port: number | undefined
  readonly db: number | undefined
  readonly username: string | undefined
  readonly password: string | undefined
  readonly tls: boolean | TlsOptions | undefined
}

const noServer: Server = {
  host: undefined,
  port: undefined,
  db: undefined,
  username: undefined,
  password: undefined,
  tls: undefined
}

const decoded = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

// The URL is read here, once, and never handed to the driver: a malformed one would otherwise throw inside it, with
// the whole URL (password included) in the defect. No message echoes it.
const urlProblem = refuse("url must be redis://[[username]:password@]host[:port][/db] or rediss://… for TLS")

const fromUrl = (text: string): Checked<Server> => {
  if (!/^rediss?:\/\//i.test(text)) return refuse("url must start with redis:// or rediss:// (TLS)")
  const url = parseUrl(text)
  if (url === undefined) return urlProblem
  const host = hostOf(url)
  const port = url.port === "" ? undefined : Number(url.port)
  const dbText = url.pathname === "" || url.pathname === "/" ? undefined : url.pathname.slice(1)
  const db = dbText === undefined ? undefined : /^\d+$/.test(dbText) ? Number(dbText) : Number.NaN
  const username = url.username === "" ? "" : decoded(url.username)
  const password = url.password === "" ? "" : decoded(url.password)
  if (
    host === "" ||
    (port !== undefined && !validPort(port)) ||
    (db !== undefined && !validDb(db)) ||
    username === undefined ||
    password === undefined ||
    url.search !== "" ||
    url.hash !== ""
  ) {
    return urlProblem
  }
  return Either.right({
    host,
    port,
    db,
    username: username === "" ? undefined : username,
    // `redis://user@host` names a user without a password; `redis://:@host` says nothing.
    password: password === "" ? undefined : password,
    tls: url.protocol === "rediss:" ? true : undefined
  })
}

/** Where the one server is and how to log in: the explicit options, then what the `url` says. */
const serverOf = (options: RedisCacheOptions): Checked<Server> => {
  if (options.host !== undefined && (typeof options.host !== "string" || options.host === "")) {
    return refuse("host must be a non-empty string")
  }
  if (options.port !== undefined && !validPort(options.port)) return refuse("port must be an integer from 1 to 65535")
  if (options.db !== undefined && !validDb(options.db)) return refuse("db must be a non-negative integer")
  const text =
    options.url === undefined ? undefined : Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
  if (text !== undefined && typeof text !== "string") return urlProblem
  return Either.map(text === undefined ? Either.right(noServer) : fromUrl(text), (url) => ({
    host: options.host ?? url.host,
    port: options.port ?? url.port,
    db: options.db ?? url.db,
    username: options.username ?? url.username,
    password: unwrap(options.password) ?? url.password,
    tls: options.tls ?? url.tls
  }))
}

/**
 * Every option of `layer`, in the order a mistake is reported: timeouts, circuit breaker, startup, then where to
 * connect (one server, through Sentinel, or a Cluster).
 */
export const resolve = (options: RedisCacheOptions): Checked<Settings> =>
  Either.gen(function* () {
    const { connectTimeout, commandTimeout, circuitBreaker, batching } = yield* client(options)
    const startup = options.startup === undefined ? "check" : options.startup
    if (startup !== "check" && startup !== "lazy") return yield* refuse('startup must be "check" or "lazy"')
    yield* optional("username", options.username, isString, "a string")
    yield* optional("password", options.password, isSecret, "a Redacted string (Redacted.make)")
    yield* optional("tls", options.tls, isTls, "a boolean or TLS options")
    yield* optional("autoPipelining", options.autoPipelining, isBoolean, "a boolean")
    yield* optional("connectionName", options.connectionName, isString, "a string")
    const common: CommonSettings = {
      startup,
      username: options.username,
      password: unwrap(options.password),
      tls: options.tls,
      connectTimeout,
      commandTimeout,
      autoPipelining: options.autoPipelining ?? false,
      batching,
      connectionName: options.connectionName
    }
    const fixedServer = options.url !== undefined || options.host !== undefined || options.port !== undefined
    if (options.cluster !== undefined) {
      if (options.sentinel !== undefined) return yield* refuse("cluster and sentinel exclude each other")
      if (fixedServer || (options.db !== undefined && options.db !== 0)) {
        return yield* refuse("url, host, port and db do not apply to a Cluster (it has database 0 only)")
      }
      const settings = yield* clusterSettings(options.cluster, common)
      return { circuitBreaker, connection: { _tag: "Cluster", settings } }
    }
    if (options.sentinel !== undefined && fixedServer) {
      return yield* refuse("url, host and port do not apply with sentinel: the sentinels name the master")
    }
    const server = yield* serverOf(options)
    const sentinel = options.sentinel === undefined ? undefined : yield* sentinelSettings(options.sentinel)
    return { circuitBreaker, connection: { _tag: "Server", settings: { ...common, ...server, sentinel } } }
  })
