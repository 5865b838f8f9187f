/**
 * What a connection through Sentinel adds to a standalone one: the sentinels' options (so that it follows a failover
 * at once), what its failures name, and ioredis's short-lived sentinel clients made to let a finished program exit.
 */

import type { ConnectionOptions as TlsOptions } from "node:tls"
import type { Redis, RedisOptions } from "ioredis"
import { type Address, addressText, tlsOptions, type Where } from "./connection.js"

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
 * The driver options that make a connection ask `sentinel` for its master. `commandTimeout` bounds each question.
 */
export const sentinelOptions = (
  sentinel: SentinelSettings,
  commandTimeout: number,
  masterTls: boolean
): Omit<RedisOptions, "replyMapping"> => {
  const options: Omit<RedisOptions, "replyMapping"> = {
    sentinels: sentinel.sentinels.map(({ host, port }) => ({ host, port })),
    name: sentinel.name,
    // Listen to the sentinels' +switch-master and reconnect at once: a master demoted by a failover keeps accepting
    // writes (and losing them) until Sentinel reconfigures it, which takes seconds.
    failoverDetector: true,
    // A sentinel that accepts and never answers would otherwise hold up every reconnection.
    sentinelCommandTimeout: commandTimeout
  }
  if (sentinel.username !== undefined) options.sentinelUsername = sentinel.username
  if (sentinel.password !== undefined) options.sentinelPassword = sentinel.password
  const sentinelTls = tlsOptions(sentinel.tls)
  if (sentinelTls !== undefined) options.sentinelTLS = sentinelTls
  // Through Sentinel, ioredis applies `tls` to the master only when told to.
  if (masterTls) options.enableTLSForSentinelMode = true
  return options
}

/** What the failures of a connection through `sentinel` name: the sentinels and the group, never a credential. */
export const whereOf = (sentinel: SentinelSettings, masterTls: boolean): Where => ({
  server: `sentinels ${sentinel.sentinels.map(addressText).join(", ")}`,
  tls: masterTls || tlsOptions(sentinel.tls) !== undefined,
  sentinelName: sentinel.name
})

/** ioredis reports what each sentinel answered as `sentinelError`, and only the giving up as `error`. */
export const errorEvents: ReadonlyArray<string> = ["error", "sentinelError"]

/**
 * ioredis asks the sentinels through short-lived clients of its own, built by a private method with a fixed set of
 * options: each one that could not connect leaves a 2-second disconnect timer behind, which keeps a finished program
 * alive. Their options get `disconnectTimeout: 0`, as Cachet's own connections have. Guarded: an ioredis without
 * that method keeps its behaviour.
 */
export const promptSentinelClients = (redis: Redis): Redis => {
  const connector: unknown = Reflect.get(redis, "connector")
  if (typeof connector !== "object" || connector === null) return redis
  const connectToSentinel: unknown = Reflect.get(connector, "connectToSentinel")
  if (typeof connectToSentinel !== "function") return redis
  Reflect.set(connector, "connectToSentinel", (endpoint: unknown, options: unknown) =>
    Reflect.apply(connectToSentinel, connector, [
      endpoint,
      { ...(typeof options === "object" && options !== null ? options : {}), disconnectTimeout: 0 }
    ])
  )
  return redis
}
