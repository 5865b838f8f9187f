/**
 * What every connection shares, whatever the topology: the driver options fit for a cache, the startup check with
 * a deadline (and its failures, which name the server and explain themselves), and the release with a deadline.
 */

import type { EventEmitter } from "node:events"
import type { ConnectionOptions as TlsOptions } from "node:tls"
import { type CacheError, CacheTimeoutError, CacheUnavailableError } from "@cachet/core/CacheError"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ClusterOptions } from "ioredis"
import type { Client } from "./commands.js"
import { type RedisDriverError, sanitize } from "./driverError.js"
import { classify, fromDriver } from "./errors.js"

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
  /** Coalesce concurrent single-key commands (standalone and Sentinel only; see `fromRedis`). */
  readonly batching: boolean
  readonly connectionName: string | undefined
  /** `"check"`: connect and PING before the client is handed out; `"lazy"`: hand it out at once. */
  readonly startup: "check" | "lazy"
}

/** `host:port`, with brackets around an IPv6 host. */
export const addressText = ({ host, port }: Address): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`

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
    // ioredis ends a closing socket and destroys it only after this, on a timer that nothing clears when the socket
    // had already closed (a refused or dead server) or never finishes closing (a paused one): that timer would keep
    // the process alive for seconds after release. `close` has already waited for QUIT, so cut at once.
    disconnectTimeout: 0,
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

export const tlsOptions = (tls: boolean | TlsOptions | undefined): TlsOptions | undefined =>
  tls === true ? {} : typeof tls === "object" ? tls : undefined

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
 * password) when all the command itself learns is that the connection closed. With `where`, the failure names the
 * server and explains itself from the errors the driver reported (`seen`).
 */
export const check = (
  start: () => Promise<unknown>,
  timeout: number,
  lastError: () => unknown,
  where?: { readonly where: Where; readonly seen: () => ReadonlyArray<unknown> } | undefined
): Effect.Effect<void, CacheError> =>
  Effect.async<void, CacheError>((resume) => {
    let settled = false
    const finish = (effect: Effect.Effect<void, CacheError>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resume(effect)
    }
    const failure = (reason: unknown): CacheError =>
      where !== undefined
        ? connectFailure(reason, where.seen(), where.where)
        : reason === undefined
          ? new CacheTimeoutError({ operation: "connect", code: "CONNECT_TIMEOUT" })
          : fromDriver(reason, "connect", undefined)
    const timer = setTimeout(() => finish(Effect.fail(failure(lastError()))), timeout)
    start().then(
      () => finish(Effect.void),
      (error: unknown) => finish(Effect.fail(failure(lastError() ?? error)))
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
  /** What its failures name. */
  readonly where: Where
  /** The events whose error explains a failed startup. */
  readonly errorEvents: ReadonlyArray<string>
  /** Connect and prove that the server (every master, on a Cluster) answers. */
  readonly start: (driver: D) => Promise<unknown>
  readonly client: (driver: D) => Client
  /** What else must hold of a started connection before it is used. */
  readonly verify?: ((driver: D) => Effect.Effect<void, CacheError>) | undefined
}

/** How many of the driver's latest errors explain a failed startup. */
const remembered = 8

const ignore = (): void => {}

/**
 * A client, closed with a bounded QUIT when the scope closes (also when the check fails). With the `"check"` startup,
 * connected and checked within the connect timeout; with `"lazy"`, returned at once while the driver connects in the
 * background (and reconnects until it succeeds), its commands failing fast until then.
 */
export const acquireDriver = <D extends Closable & EventEmitter>(
  driver: Driver<D>,
  settings: CommonSettings
): Effect.Effect<Client, CacheError, Scope.Scope> =>
  Effect.flatMap(
    Effect.acquireRelease(
      Effect.sync(() => {
        const instance = driver.create()
        const state: { lastError: unknown; seen: Array<unknown> } = { lastError: undefined, seen: [] }
        // Without a listener ioredis prints every connection error; the last ones explain a failed startup.
        const remember = (error: unknown) => {
          state.lastError = error
          if (state.seen.push(error) > remembered) state.seen.shift()
        }
        for (const event of driver.errorEvents) instance.on(event, remember)
        instance.on("ready", () => {
          state.lastError = undefined
          state.seen = []
        })
        return { instance, state }
      }),
      ({ instance }) => close(instance, Math.max(settings.commandTimeout, 1000))
    ),
    ({ instance, state }) => {
      if (settings.startup === "lazy") {
        // Failures are the reconnection's business: the driver retries for as long as it lives.
        driver.start(instance).then(ignore, ignore)
        return Effect.succeed(withConnectionError(driver.client(instance), state))
      }
      return Effect.as(
        Effect.zipRight(
          check(
            () => driver.start(instance),
            settings.connectTimeout,
            () => state.lastError,
            { where: driver.where, seen: () => state.seen }
          ),
          driver.verify === undefined ? Effect.void : driver.verify(instance)
        ),
        withConnectionError(driver.client(instance), state)
      )
    }
  )

const withConnectionError = (client: Client, state: { readonly lastError: unknown }): Client => ({
  ...client,
  connectionError: () => state.lastError
})

/**
 * What a connection is pointed at, as its failures name it.
 */
export interface Where {
  /** `host:port`, or the servers tried with what they are (`sentinels a:26379, b:26379`); never a credential. */
  readonly server: string
  /** Whether the connection speaks TLS: a timeout then hints at the other way round. */
  readonly tls: boolean
  /** The master group asked of the sentinels. */
  readonly sentinelName?: string | undefined
}

// Node's codes for a certificate the client does not accept.
const untrusted = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE"
])

/**
 * A hint from one driver error, in words of our own: a driver's or a server's message may quote the command that
 * failed, with its arguments (an AUTH password), so none is ever copied.
 */
const hintOf = (error: RedisDriverError, where: Where): string | undefined => {
  const code = error.code
  if (code !== undefined) {
    if (untrusted.has(code)) return "the server's TLS certificate is not trusted: give its authority in tls.ca"
    if (code === "CERT_HAS_EXPIRED") return "the server's TLS certificate has expired"
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
      return "the server's TLS certificate does not name this host: connect by a name it lists, or set tls.servername"
    }
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name does not resolve"
  }
  // A sentinel that knows no such group answers GET-MASTER-ADDR-BY-NAME with an error (Redis 7: "ERR No such master
  // with that name") or, before, with nil (ioredis: "... successfully, but got an invalid reply: null").
  if (
    where.sentinelName !== undefined &&
    (error.message.includes("No such master with that name") || error.message.endsWith("got an invalid reply: null"))
  ) {
    return `the sentinels know no master named ${JSON.stringify(where.sentinelName)}`
  }
  return undefined
}

// What ioredis reports once every sentinel failed, when no error says more.
const noSentinel = (error: RedisDriverError): string | undefined =>
  error.message.startsWith("All sentinels are unreachable") ? "no sentinel gave the master's address" : undefined

// What a startup that timed out or was cut short most often means: the two ends disagree on TLS (a TLS client waits
// for a handshake that a plain server never answers; a TLS server resets a plain client).
const tlsHint = (where: Where): string =>
  where.tls
    ? "is the server expecting plain text? use redis:// without tls"
    : "is the server expecting TLS? use rediss:// or tls"

/**
 * The failure of a startup check against `where`: the reason the driver gave last (`undefined` when it gave none
 * before the deadline), explained by the errors it reported meanwhile (`seen`, oldest first).
 */
export const connectFailure = (reason: unknown, seen: ReadonlyArray<unknown>, where: Where): CacheError => {
  const last = reason === undefined ? undefined : sanitize(reason)
  const error =
    last === undefined
      ? new CacheTimeoutError({ operation: "connect", code: "CONNECT_TIMEOUT" })
      : classify(last, "connect", undefined)
  let detail: string | undefined
  for (let i = seen.length - 1; i >= 0 && detail === undefined; i--) detail = hintOf(sanitize(seen[i]), where)
  if (last !== undefined) detail ??= hintOf(last, where) ?? noSentinel(last)
  switch (error._tag) {
    case "CacheTimeoutError":
      return new CacheTimeoutError({
        operation: error.operation,
        code: error.code,
        cause: error.cause,
        server: where.server,
        detail: detail ?? (error.code === "CONNECT_TIMEOUT" ? tlsHint(where) : undefined)
      })
    case "CacheUnavailableError":
      return new CacheUnavailableError({
        operation: error.operation,
        code: error.code,
        cause: error.cause,
        server: where.server,
        // A TLS server resets a client that speaks plain text to it.
        detail: detail ?? (error.code === "CONNECTION_RESET" ? tlsHint(where) : undefined)
      })
    default:
      return error
  }
}
