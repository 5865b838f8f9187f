/**
 * The standalone and Sentinel side of the only two modules that touch ioredis (the other is `cluster.ts`). It builds
 * a client with settings fit for a cache, checks the connection with a deadline, closes it with a deadline, and
 * exposes the handful of commands the backend needs as a small `Client` interface, so that the Cluster client
 * (per-slot batches, SCAN on every master) slots in beside the standalone one without touching the backend.
 */

import { createHash } from "node:crypto"
import type { EventEmitter } from "node:events"
import type { ConnectionOptions as TlsOptions } from "node:tls"
import type { Entry } from "@cachet/core/Backend"
import { type CacheError, CacheTimeoutError } from "@cachet/core/CacheError"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ClusterOptions, Redis, type RedisOptions } from "ioredis"
import { fromDriver } from "./errors.js"

/**
 * One SCAN step on one server: the next cursor (`"0"` when done) and the keys of this step.
 */
export type Scanner = (
  cursor: string,
  pattern: string,
  count: number
) => Promise<readonly [cursor: string, keys: ReadonlyArray<string>]>

/**
 * The commands the backend uses. Replies of scripts are `unknown`: the backend checks their shape.
 */
export interface Client {
  readonly get: (key: string) => Promise<string | null>
  /** `[value, pttl]`, or `null` when absent, read atomically. */
  readonly getWithTimeToLive: (key: string) => Promise<unknown>
  readonly mget: (keys: ReadonlyArray<string>) => Promise<ReadonlyArray<string | null>>
  readonly set: (key: string, value: string, timeToLive: number | undefined) => Promise<unknown>
  /** SET NX: `"OK"` when written, `null` otherwise. */
  readonly setIfAbsent: (key: string, value: string, timeToLive: number | undefined) => Promise<unknown>
  /** All or nothing (per hash slot on a Cluster); rejects with the first failure. */
  readonly setMany: (entries: ReadonlyArray<Entry>) => Promise<void>
  /** DEL only if the value is `expected`, in one script: `1` when deleted, `0` otherwise. */
  readonly deleteIfEquals: (key: string, expected: string) => Promise<unknown>
  readonly unlink: (keys: ReadonlyArray<string>) => Promise<number>
  readonly exists: (key: string) => Promise<number>
  readonly pttl: (key: string) => Promise<number>
  readonly pexpire: (key: string, timeToLive: number) => Promise<number>
  readonly persist: (key: string) => Promise<number>
  /** INCRBY then GET in one script: the new value as a decimal string, exact in 64 bits. */
  readonly incrementBy: (key: string, by: string) => Promise<unknown>
  /** One scanner per server holding a share of the keys: one for a standalone server, one per master. */
  readonly scanners: () => ReadonlyArray<Scanner>
  readonly ping: () => Promise<unknown>
  /** Whether the driver enforces a command timeout itself; if not, the backend bounds every command. */
  readonly enforcesCommandTimeout: boolean
}

/**
 * A server's address.
 */
export interface Address {
  readonly host: string
  readonly port: number
}

/**
 * What every connection needs, whatever the topology. Durations are whole milliseconds; passwords are already
 * unwrapped from their `Redacted`, and live only in the driver's options.
 */
export interface CommonSettings {
  readonly username: string | undefined
  readonly password: string | undefined
  readonly tls: boolean | TlsOptions | undefined
  readonly connectTimeout: number
  readonly commandTimeout: number
  readonly autoPipelining: boolean
  readonly connectionName: string | undefined
}

/**
 * The sentinels that know where the master of the group `name` is, and how to talk to them.
 */
export interface SentinelSettings {
  readonly sentinels: ReadonlyArray<Address>
  readonly name: string
  readonly username: string | undefined
  readonly password: string | undefined
  readonly tls: boolean | TlsOptions | undefined
}

/**
 * How to reach a standalone server, directly or through Sentinel.
 */
export interface ConnectionSettings extends CommonSettings {
  readonly url: string | undefined
  readonly host: string | undefined
  readonly port: number | undefined
  readonly db: number | undefined
  readonly sentinel: SentinelSettings | undefined
}

interface Script {
  readonly source: string
  readonly sha: string
}

const script = (source: string): Script => ({ source, sha: createHash("sha1").update(source).digest("hex") })

// GET and PTTL in one script so that the value and its time-to-live belong to the same instant (a pipeline could
// see the key expire between the two). No shebang: Redis then applies its out-of-memory check only to writes, so
// this read keeps working on a full server.
const getWithTimeToLiveScript = script(
  "local v = redis.call('GET', KEYS[1])\nif v then return {v, redis.call('PTTL', KEYS[1])} end\nreturn false"
)

// INCRBY's integer reply reaches JavaScript (and Lua) as a double, which is inexact past 2^53; GET of the same key
// in the same atomic script returns the new value as a bulk string, exact in 64 bits.
const incrementScript = script("redis.call('INCRBY', KEYS[1], ARGV[1])\nreturn redis.call('GET', KEYS[1])")

// Compare-and-delete: a lock's holder removes the lock only while it still holds its own token.
const deleteIfEqualsScript = script(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\nreturn 0"
)

const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith("NOSCRIPT")

/**
 * The commands a standalone connection and a Cluster share. A Cluster routes each by its key's slot, so a MULTI on
 * it must keep to one slot.
 */
export type Commands = Pick<
  Redis,
  "get" | "set" | "exists" | "pttl" | "pexpire" | "persist" | "ping" | "evalsha" | "eval" | "multi"
>

const runScript = (redis: Commands, s: Script, key: string, args: ReadonlyArray<string>): Promise<unknown> =>
  redis.evalsha(s.sha, 1, key, ...args).catch((error: unknown) => {
    // The script cache is empty after a restart, a SCRIPT FLUSH or a failover to a replica that never ran the
    // script: EVAL sends the source once and caches it again.
    if (isNoScript(error)) return redis.eval(s.source, 1, key, ...args)
    throw error
  })

const noArgs: ReadonlyArray<string> = []

/**
 * SET of every entry in one MULTI/EXEC on `redis`; rejects with the first failure.
 */
export const transaction = (redis: Commands, entries: ReadonlyArray<Entry>): Promise<void> => {
  const multi = redis.multi()
  for (const entry of entries) {
    if (entry.timeToLive === undefined) multi.set(entry.key, entry.value)
    else multi.set(entry.key, entry.value, "PX", entry.timeToLive)
  }
  return multi.exec().then((results) => {
    if (results === null) throw new Error("EXECABORT transaction aborted")
    for (const [error] of results) {
      if (error !== null) throw error
    }
  })
}

/**
 * The commands on one key, the same on a standalone connection and on a Cluster.
 */
export const singleKey = (
  redis: Commands
): Omit<Client, "mget" | "setMany" | "unlink" | "scanners" | "enforcesCommandTimeout"> => ({
  get: (key) => redis.get(key),
  getWithTimeToLive: (key) => runScript(redis, getWithTimeToLiveScript, key, noArgs),
  set: (key, value, timeToLive) =>
    timeToLive === undefined ? redis.set(key, value) : redis.set(key, value, "PX", timeToLive),
  setIfAbsent: (key, value, timeToLive) =>
    timeToLive === undefined ? redis.set(key, value, "NX") : redis.set(key, value, "PX", timeToLive, "NX"),
  deleteIfEquals: (key, expected) => runScript(redis, deleteIfEqualsScript, key, [expected]),
  exists: (key) => redis.exists(key),
  pttl: (key) => redis.pttl(key),
  pexpire: (key, timeToLive) => redis.pexpire(key, timeToLive),
  persist: (key) => redis.persist(key),
  incrementBy: (key, by) => runScript(redis, incrementScript, key, [by]),
  ping: () => redis.ping()
})

/**
 * SCAN on one server.
 */
export const scannerOf =
  (redis: Pick<Redis, "scan">): Scanner =>
  (cursor, pattern, count) =>
    redis.scan(cursor, "MATCH", pattern, "COUNT", count)

/**
 * The `Client` of a standalone ioredis connection.
 */
export const fromRedis = (redis: Redis): Client => {
  const scanners: ReadonlyArray<Scanner> = [scannerOf(redis)]
  return {
    ...singleKey(redis),
    // ioredis copies its arguments into a new array, so handing it the caller's readonly array is safe.
    mget: (keys) => redis.mget(keys as Array<string>),
    setMany: (entries) => transaction(redis, entries),
    unlink: (keys) => redis.unlink(keys as Array<string>),
    scanners: () => scanners,
    enforcesCommandTimeout: typeof redis.options.commandTimeout === "number"
  }
}

/**
 * Exponential from 50 ms, capped at 2 seconds, with jitter so that many processes do not reconnect in step. It never
 * gives up: a cache that comes back (a restart, a failover) is used again by the same layer.
 */
export const reconnectDelay = (attempt: number): number =>
  Math.min(50 * 2 ** Math.min(attempt, 10), 2000) + Math.floor(Math.random() * 100)

/**
 * The options of one connection to one server that a standalone connection and every node of a Cluster share.
 * Replies keep ioredis's default ("legacy") shapes, which the clients rely on.
 */
export type NodeOptions = Omit<NonNullable<ClusterOptions["redisOptions"]>, "replyMapping">

export const nodeOptions = (settings: CommonSettings): NodeOptions => {
  const options: NodeOptions = {
    // Commands in flight when the connection drops fail at once and are never resent: a resent INCRBY or SET NX
    // could apply twice.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // A cache answers while loading is an error (LOADING), mapped to unavailable; the INFO round trip (which an ACL
    // user may not be allowed) buys nothing here.
    enableReadyCheck: false,
    connectTimeout: settings.connectTimeout,
    commandTimeout: settings.commandTimeout
  }
  if (settings.username !== undefined) options.username = settings.username
  if (settings.password !== undefined) options.password = settings.password
  if (settings.connectionName !== undefined) options.connectionName = settings.connectionName
  const tls = tlsOptions(settings.tls)
  if (tls !== undefined) options.tls = tls
  return options
}

const tlsOptions = (tls: boolean | TlsOptions | undefined): TlsOptions | undefined =>
  tls === true ? {} : typeof tls === "object" ? tls : undefined

// A READONLY reply means the connection reaches a replica: a Sentinel failover demoted this server, or a DNS name
// (a managed service's primary endpoint) now points elsewhere. Reconnecting asks the sentinels (or DNS) again; the
// failed command itself is not resent.
const isReadOnly = (error: Error): boolean => error.message.startsWith("READONLY")

type Options = Omit<RedisOptions, "replyMapping">

const redisOptions = (settings: ConnectionSettings): Options => {
  const options: Options = {
    ...nodeOptions(settings),
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing without bound; the circuit breaker and the caller's
    // retry decide what happens next.
    enableOfflineQueue: false,
    enableAutoPipelining: settings.autoPipelining,
    retryStrategy: reconnectDelay,
    reconnectOnError: isReadOnly
  }
  if (settings.host !== undefined) options.host = settings.host
  if (settings.port !== undefined) options.port = settings.port
  if (settings.db !== undefined) options.db = settings.db
  const sentinel = settings.sentinel
  if (sentinel !== undefined) {
    options.sentinels = sentinel.sentinels.map(({ host, port }) => ({ host, port }))
    options.name = sentinel.name
    // Listen to the sentinels' +switch-master and reconnect at once: a master demoted by a failover keeps accepting
    // writes (and losing them) until Sentinel reconfigures it, which takes seconds.
    options.failoverDetector = true
    // A sentinel that accepts and never answers would otherwise hold up every reconnection.
    options.sentinelCommandTimeout = settings.commandTimeout
    if (sentinel.username !== undefined) options.sentinelUsername = sentinel.username
    if (sentinel.password !== undefined) options.sentinelPassword = sentinel.password
    const sentinelTls = tlsOptions(sentinel.tls)
    if (sentinelTls !== undefined) options.sentinelTLS = sentinelTls
    // Through Sentinel, ioredis applies `tls` to the master only when told to.
    if (options.tls !== undefined) options.enableTLSForSentinelMode = true
  }
  return options
}

/**
 * What `close` needs of a standalone connection or a Cluster.
 */
export interface Closable {
  readonly status: string
  readonly quit: () => Promise<unknown>
  readonly disconnect: () => void
}

/**
 * Quit politely within `timeout` milliseconds, then cut the connection whatever happened, so that release never
 * hangs and no reconnect timer outlives the scope.
 */
export const close = (driver: Closable, timeout: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const done = () => {
      clearTimeout(timer)
      if (driver.status !== "end") driver.disconnect()
      resume(Effect.void)
    }
    const timer = setTimeout(done, timeout)
    if (driver.status === "end" || driver.status === "wait") {
      done()
      return
    }
    driver.quit().then(done, done)
  })

/**
 * PING within `timeout` milliseconds; `lastError` gives the reason the driver saw (a refused connection, a wrong
 * password) when all the command itself learns is that the connection closed.
 */
export const check = (
  start: () => Promise<unknown>,
  timeout: number,
  lastError: () => unknown
): Effect.Effect<void, CacheError> =>
  Effect.async<void, CacheError>((resume) => {
    let settled = false
    const finish = (effect: Effect.Effect<void, CacheError>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resume(effect)
    }
    const timer = setTimeout(() => {
      const reason = lastError()
      finish(
        Effect.fail(
          reason === undefined
            ? new CacheTimeoutError({ operation: "connect", code: "CONNECT_TIMEOUT" })
            : fromDriver(reason, "connect", undefined)
        )
      )
    }, timeout)
    start().then(
      () => finish(Effect.void),
      (error: unknown) => finish(Effect.fail(fromDriver(lastError() ?? error, "connect", undefined)))
    )
    return Effect.sync(() => {
      settled = true
      clearTimeout(timer)
    })
  })

/**
 * How to build, start and wrap one kind of driver.
 */
export interface Driver<D extends Closable & EventEmitter> {
  readonly create: () => D
  /** The events whose error explains a failed startup. */
  readonly errorEvents: ReadonlyArray<string>
  /** Connect and prove that the server (every master, on a Cluster) answers. */
  readonly start: (driver: D) => Promise<unknown>
  readonly client: (driver: D) => Client
}

/**
 * A connected client, checked within the connect timeout and closed with a bounded QUIT when the scope closes (also
 * when the check fails).
 */
export const acquireDriver = <D extends Closable & EventEmitter>(
  driver: Driver<D>,
  settings: CommonSettings
): Effect.Effect<Client, CacheError, Scope.Scope> =>
  Effect.flatMap(
    Effect.acquireRelease(
      Effect.sync(() => {
        const instance = driver.create()
        const state: { lastError: unknown } = { lastError: undefined }
        // Without a listener ioredis prints every connection error; the last one explains a failed startup.
        const remember = (error: unknown) => {
          state.lastError = error
        }
        for (const event of driver.errorEvents) instance.on(event, remember)
        instance.on("ready", () => {
          state.lastError = undefined
        })
        return { instance, state }
      }),
      ({ instance }) => close(instance, Math.max(settings.commandTimeout, 1000))
    ),
    ({ instance, state }) =>
      Effect.as(
        check(
          () => driver.start(instance),
          settings.connectTimeout,
          () => state.lastError
        ),
        driver.client(instance)
      )
  )

/**
 * A standalone connection, direct or through Sentinel, checked with PING.
 */
export const acquire = (settings: ConnectionSettings): Effect.Effect<Client, CacheError, Scope.Scope> =>
  acquireDriver(
    {
      create: () => {
        const options = redisOptions(settings)
        return settings.url === undefined ? new Redis(options) : new Redis(settings.url, options)
      },
      errorEvents: ["error"],
      start: (redis) => redis.connect().then(() => redis.ping()),
      client: fromRedis
    },
    settings
  )
