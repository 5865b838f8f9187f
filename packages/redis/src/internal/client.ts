/**
 * The only module that touches ioredis. It builds a client with settings fit for a cache, checks the connection
 * with a deadline, closes it with a deadline, and exposes the handful of commands the backend needs as a small
 * `Client` interface, so that a Cluster client (per-slot batches, SCAN on every master) can slot in beside the
 * standalone one without touching the backend.
 */

import { createHash } from "node:crypto"
import type { ConnectionOptions as TlsOptions } from "node:tls"
import type { Entry } from "@cachet/core/Backend"
import { type CacheError, CacheTimeoutError } from "@cachet/core/CacheError"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Redis, type RedisOptions } from "ioredis"
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
  /** All or nothing; rejects with the first failure. */
  readonly setMany: (entries: ReadonlyArray<Entry>) => Promise<void>
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
 * How to reach a standalone server. Durations are whole milliseconds; the password is already unwrapped from its
 * `Redacted`, and lives only in the driver's options.
 */
export interface ConnectionSettings {
  readonly url: string | undefined
  readonly host: string | undefined
  readonly port: number | undefined
  readonly db: number | undefined
  readonly username: string | undefined
  readonly password: string | undefined
  readonly tls: boolean | TlsOptions | undefined
  readonly connectTimeout: number
  readonly commandTimeout: number
  readonly autoPipelining: boolean
  readonly connectionName: string | undefined
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

const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith("NOSCRIPT")

const runScript = (redis: Redis, s: Script, key: string, args: ReadonlyArray<string>): Promise<unknown> =>
  redis.evalsha(s.sha, 1, key, ...args).catch((error: unknown) => {
    // The script cache is empty after a restart or SCRIPT FLUSH: EVAL sends the source once and caches it again.
    if (isNoScript(error)) return redis.eval(s.source, 1, key, ...args)
    throw error
  })

const noArgs: ReadonlyArray<string> = []

/**
 * The `Client` of a standalone ioredis connection.
 */
export const fromRedis = (redis: Redis): Client => {
  const scanner: Scanner = (cursor, pattern, count) => redis.scan(cursor, "MATCH", pattern, "COUNT", count)
  const scanners: ReadonlyArray<Scanner> = [scanner]
  return {
    get: (key) => redis.get(key),
    getWithTimeToLive: (key) => runScript(redis, getWithTimeToLiveScript, key, noArgs),
    // ioredis copies its arguments into a new array, so handing it the caller's readonly array is safe.
    mget: (keys) => redis.mget(keys as Array<string>),
    set: (key, value, timeToLive) =>
      timeToLive === undefined ? redis.set(key, value) : redis.set(key, value, "PX", timeToLive),
    setIfAbsent: (key, value, timeToLive) =>
      timeToLive === undefined ? redis.set(key, value, "NX") : redis.set(key, value, "PX", timeToLive, "NX"),
    setMany: (entries) => {
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
    },
    unlink: (keys) => redis.unlink(keys as Array<string>),
    exists: (key) => redis.exists(key),
    pttl: (key) => redis.pttl(key),
    pexpire: (key, timeToLive) => redis.pexpire(key, timeToLive),
    persist: (key) => redis.persist(key),
    incrementBy: (key, by) => runScript(redis, incrementScript, key, [by]),
    scanners: () => scanners,
    ping: () => redis.ping(),
    enforcesCommandTimeout: typeof redis.options.commandTimeout === "number"
  }
}

// Exponential from 50 ms, capped at 2 seconds, with jitter so that many processes do not reconnect in step. It never
// gives up: a cache that comes back (a restart, a failover) is used again by the same layer.
const reconnectDelay = (attempt: number): number =>
  Math.min(50 * 2 ** Math.min(attempt, 10), 2000) + Math.floor(Math.random() * 100)

// Replies keep ioredis's default ("legacy") shapes, which `fromRedis` relies on.
type Options = Omit<RedisOptions, "replyMapping">

const redisOptions = (settings: ConnectionSettings): Options => {
  const options: Options = {
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing without bound; the circuit breaker and the caller's
    // retry decide what happens next.
    enableOfflineQueue: false,
    // Commands in flight when the connection drops fail at once and are never resent: a resent INCRBY or SET NX
    // could apply twice.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // A cache answers while loading is an error (LOADING), mapped to unavailable; the INFO round trip (which an ACL
    // user may not be allowed) buys nothing here.
    enableReadyCheck: false,
    connectTimeout: settings.connectTimeout,
    commandTimeout: settings.commandTimeout,
    enableAutoPipelining: settings.autoPipelining,
    retryStrategy: reconnectDelay
  }
  if (settings.host !== undefined) options.host = settings.host
  if (settings.port !== undefined) options.port = settings.port
  if (settings.db !== undefined) options.db = settings.db
  if (settings.username !== undefined) options.username = settings.username
  if (settings.password !== undefined) options.password = settings.password
  if (settings.connectionName !== undefined) options.connectionName = settings.connectionName
  if (settings.tls === true) options.tls = {}
  else if (typeof settings.tls === "object") options.tls = settings.tls
  return options
}

/**
 * Quit politely within `timeout` milliseconds, then cut the connection whatever happened, so that release never
 * hangs and no reconnect timer outlives the scope.
 */
export const close = (redis: Redis, timeout: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const done = () => {
      clearTimeout(timer)
      if (redis.status !== "end") redis.disconnect()
      resume(Effect.void)
    }
    const timer = setTimeout(done, timeout)
    if (redis.status === "end" || redis.status === "wait") {
      done()
      return
    }
    redis.quit().then(done, done)
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
 * A connected client, checked with PING within the connect timeout and closed with a bounded QUIT when the scope
 * closes (also when the check fails).
 */
export const acquire = (settings: ConnectionSettings): Effect.Effect<Client, CacheError, Scope.Scope> =>
  Effect.flatMap(
    Effect.acquireRelease(
      Effect.sync(() => {
        const options = redisOptions(settings)
        const redis = settings.url === undefined ? new Redis(options) : new Redis(settings.url, options)
        const state: { lastError: unknown } = { lastError: undefined }
        // Without a listener ioredis prints every connection error; the last one explains a failed startup.
        redis.on("error", (error: unknown) => {
          state.lastError = error
        })
        redis.on("ready", () => {
          state.lastError = undefined
        })
        return { redis, state }
      }),
      ({ redis }) => close(redis, Math.max(settings.commandTimeout, 1000))
    ),
    ({ redis, state }) =>
      Effect.as(
        check(
          () => redis.connect().then(() => redis.ping()),
          settings.connectTimeout,
          () => state.lastError
        ),
        fromRedis(redis)
      )
  )
