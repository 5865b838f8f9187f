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
import { type CacheError, CacheInvalidInputError, CacheTimeoutError } from "@cachet/core/CacheError"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ClusterOptions, Redis, type RedisOptions } from "ioredis"
import * as Batch from "./batch.js"
import { connectFailure, fromDriver, UnexpectedReply, type Where } from "./errors.js"

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
  /** GET of every key (per hash slot on a Cluster); rejects with the first failed key's error, in key order. */
  readonly getMany: (keys: ReadonlyArray<string>) => Promise<ReadonlyArray<string | null>>
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
  /** Milliseconds: the command timeout the driver enforces itself, if any; the backend's deadline matches it. */
  readonly commandTimeout: number | undefined
  /** The server its commands go to, named in their errors; `undefined` where it moves (Sentinel, Cluster). */
  readonly server?: string | undefined
  /**
   * Why the driver's last connection attempt failed, until it is ready again: a command refused meanwhile only
   * learns "not connected", and this tells a refused login (a rotated password) from a server that is down.
   */
  readonly connectionError?: (() => unknown) | undefined
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
  /** Coalesce concurrent single-key commands (standalone and Sentinel only; see `fromRedis`). */
  readonly batching: boolean
  readonly connectionName: string | undefined
  /** `"check"`: connect and PING before the client is handed out; `"lazy"`: hand it out at once. */
  readonly startup: "check" | "lazy"
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
  readonly host: string | undefined
  readonly port: number | undefined
  readonly db: number | undefined
  readonly sentinel: SentinelSettings | undefined
}

export interface Script {
  readonly source: string
  readonly sha: string
  /** Whether the script only reads: it then runs as EVAL_RO/EVALSHA_RO. */
  readonly readOnly: boolean
}

const script = (source: string, readOnly: boolean): Script => ({
  source,
  sha: createHash("sha1").update(source).digest("hex"),
  readOnly
})

// A script that only reads runs as EVAL_RO/EVALSHA_RO. Redis takes a plain EVAL or EVALSHA for a possible write:
// CLIENT PAUSE WRITE (an operator's, or FAILOVER's) holds it, and with it every later command of its connection,
// while a GET goes through; EVALSHA of a script the server lacks is held as well, even one flagged `no-writes`.
// The read-only forms go through, never need the out-of-memory check, and run on a read-only replica.
const readScript = (source: string): Script => script(source, true)

// No shebang: Redis then applies its out-of-memory check to each write inside, not to the script as a whole.
const writeScript = (source: string): Script => script(source, false)

// GET and PTTL in one script so that the value and its time-to-live belong to the same instant (a pipeline could
// see the key expire between the two).
const getWithTimeToLiveScript = readScript(
  "local v = redis.call('GET', KEYS[1])\nif v then return {v, redis.call('PTTL', KEYS[1])} end\nreturn false"
)

// INCRBY's integer reply reaches JavaScript (and Lua) as a double, which is inexact past 2^53; GET of the same key
// in the same atomic script returns the new value as a bulk string, exact in 64 bits.
const incrementScript = writeScript("redis.call('INCRBY', KEYS[1], ARGV[1])\nreturn redis.call('GET', KEYS[1])")

// Compare-and-delete: a lock's holder removes the lock only while it still holds its own token. UNLINK, like every
// other deletion, so that an ACL user needs no DEL.
const deleteIfEqualsScript = writeScript(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('UNLINK', KEYS[1]) end\nreturn 0"
)

// The values of the keys, as MGET's (in steps of 1000 keys: Lua's `unpack` has a limit), except that a key MGET
// answers nil for is asked again by GET through `redis.pcall`, so that a key of another type answers its WRONGTYPE
// as `get` does and the others still answer. The script is atomic, so such a key is absent or of another type; a
// cache's reads are mostly hits, which cost no more than MGET. It serves `getMany` and batches of `get` (`batch.ts`).
const getEachScript = readScript(
  "local r = {}\nfor s = 1, #KEYS, 1000 do\n" +
    "  local part = redis.call('MGET', unpack(KEYS, s, math.min(s + 999, #KEYS)))\n" +
    "  for j = 1, #part do\n    local v = part[j]\n" +
    "    if not v then v = redis.pcall('GET', KEYS[s + j - 1]) end\n    r[s + j - 1] = v\n  end\nend\nreturn r"
)

export const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith("NOSCRIPT")

/**
 * The commands a standalone connection and a Cluster share. A Cluster routes each by its key's slot, so a MULTI on
 * it must keep to one slot.
 */
export type Commands = Pick<
  Redis,
  | "get"
  | "set"
  | "exists"
  | "pttl"
  | "pexpire"
  | "persist"
  | "ping"
  | "evalsha"
  | "eval"
  | "evalsha_ro"
  | "eval_ro"
  | "multi"
>

/**
 * Runs a script by its SHA1, sending the source instead when the server does not have it.
 */
export type ScriptRunner = (s: Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string>) => Promise<unknown>

export const evalScript = (redis: Commands, s: Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string>) =>
  s.readOnly
    ? redis.eval_ro(s.source, keys.length, ...keys, ...args)
    : redis.eval(s.source, keys.length, ...keys, ...args)

export const evalShaScript = (redis: Commands, s: Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string>) =>
  s.readOnly
    ? redis.evalsha_ro(s.sha, keys.length, ...keys, ...args)
    : redis.evalsha(s.sha, keys.length, ...keys, ...args)

/**
 * EVALSHA, and EVAL when it answers NOSCRIPT: the script cache is empty after a restart, a SCRIPT FLUSH or a
 * failover to a replica that never ran the script. The EVAL goes out after the NOSCRIPT reply, so after commands
 * issued meanwhile: the Cluster's runner, where a command's node is not known in advance.
 */
export const evalShaFirst =
  (redis: Commands): ScriptRunner =>
  (s, keys, args) =>
    evalShaScript(redis, s, keys, args).catch((error: unknown) => {
      if (isNoScript(error)) return evalScript(redis, s, keys, args)
      throw error
    })

/**
 * The runner of one connection: the first run of a script on each connection (ioredis's `stream` changes when it
 * reconnects, perhaps to a restarted or promoted server) is an EVAL, which loads it; later runs are EVALSHAs. A
 * script then never answers NOSCRIPT on a connection that ran it, and a command never overtakes one sent before it,
 * unless someone flushes the script cache meanwhile.
 */
export const loadingOnce = (redis: Redis): ScriptRunner => {
  let connection: unknown = redis.stream
  let loaded = new Set<string>()
  const fallback = evalShaFirst(redis)
  return (s, keys, args) => {
    if (redis.stream !== connection) {
      connection = redis.stream
      loaded = new Set()
    }
    if (loaded.has(s.sha)) return fallback(s, keys, args)
    loaded.add(s.sha)
    return evalScript(redis, s, keys, args)
  }
}

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
  redis: Commands,
  runScript: ScriptRunner
): Omit<Client, "getMany" | "setMany" | "unlink" | "scanners" | "commandTimeout"> => ({
  get: (key) => redis.get(key),
  getWithTimeToLive: (key) => runScript(getWithTimeToLiveScript, [key], noArgs),
  set: (key, value, timeToLive) =>
    timeToLive === undefined ? redis.set(key, value) : redis.set(key, value, "PX", timeToLive),
  setIfAbsent: (key, value, timeToLive) =>
    timeToLive === undefined ? redis.set(key, value, "NX") : redis.set(key, value, "PX", timeToLive, "NX"),
  deleteIfEquals: (key, expected) => runScript(deleteIfEqualsScript, [key], [expected]),
  exists: (key) => redis.exists(key),
  pttl: (key) => redis.pttl(key),
  pexpire: (key, timeToLive) => redis.pexpire(key, timeToLive),
  persist: (key) => redis.persist(key),
  incrementBy: (key, by) => runScript(incrementScript, [key], [by]),
  ping: () => redis.ping()
})

const stringOrNull = (reply: unknown): string | null => {
  if (reply === null || typeof reply === "string") return reply
  throw new UnexpectedReply("GET answered with something other than a string or nil")
}

/**
 * GET of every key in one script call (the caller keeps to one slot on a Cluster): per key, its value, `null`, or
 * the `Error` that `get` of that key would fail with.
 */
export const getEach = (runScript: ScriptRunner, keys: ReadonlyArray<string>): Promise<ReadonlyArray<unknown>> =>
  runScript(getEachScript, keys, noArgs).then((reply) => {
    if (!Array.isArray(reply) || reply.length !== keys.length) {
      throw new UnexpectedReply("a GET script answered with a different number of values than keys asked")
    }
    return reply
  })

/**
 * The values of `getEach`'s answers, or the error of the first key that failed.
 */
export const valuesOrFirstError = (answers: ReadonlyArray<unknown>): Array<string | null> => {
  const values = new Array<string | null>(answers.length)
  for (let i = 0; i < answers.length; i++) {
    const answer = answers[i]
    if (answer instanceof Error) throw answer
    values[i] = stringOrNull(answer)
  }
  return values
}

/**
 * SCAN on one server.
 */
export const scannerOf =
  (redis: Pick<Redis, "scan">): Scanner =>
  (cursor, pattern, count) =>
    redis.scan(cursor, "MATCH", pattern, "COUNT", count)

// The scripts of batches (see `batch.ts`): every key's command through `redis.pcall`, so that one key's error (a
// WRONGTYPE, an OOM) is that key's answer and the others still run.
const getWithTimeToLiveBatchScript = readScript(
  "local r = {}\nfor i, k in ipairs(KEYS) do\n  local v = redis.pcall('GET', k)\n" +
    "  if type(v) == 'string' then r[i] = {v, redis.call('PTTL', k)} else r[i] = v end\nend\nreturn r"
)

// ARGV holds a value and a time-to-live (empty for none) per key.
const setBatchScript = writeScript(
  "local r = {}\nfor i, k in ipairs(KEYS) do\n  local ttl = ARGV[2 * i]\n" +
    "  if ttl == '' then r[i] = redis.pcall('SET', k, ARGV[2 * i - 1])\n" +
    "  else r[i] = redis.pcall('SET', k, ARGV[2 * i - 1], 'PX', ttl) end\nend\nreturn r"
)

/**
 * Items per batch; a full one is sent at once and the next one opens. Small enough that, with many callers, several
 * batches are in flight and the server works on one while this process reads another (64 callers in batches of 16:
 * about 1.5× the throughput of one batch of 64 here), large enough to share one command among many keys.
 */
const maxBatch = 16

const asIs = (reply: unknown): unknown => reply

const keyOf = (entry: Entry): string => entry.key

const valueAndTimeToLive = (entries: ReadonlyArray<Entry>): Array<string> => {
  const args = new Array<string>(entries.length * 2)
  entries.forEach((entry, i) => {
    args[2 * i] = entry.value
    args[2 * i + 1] = entry.timeToLive === undefined ? "" : String(entry.timeToLive)
  })
  return args
}

/**
 * The `Client` of a standalone ioredis connection. With `batching`, concurrent `get`, `getWithTimeToLive` and `set`
 * calls of one turn are coalesced into one script call per kind (`batch.ts`), and every other command first sends
 * the open batch, so that commands still reach the server in call order.
 */
export const fromRedis = (redis: Redis, batching: boolean, server?: string | undefined): Client => {
  const runScript = loadingOnce(redis)
  const commands = singleKey(redis, runScript)
  const scanners: ReadonlyArray<Scanner> = [scannerOf(redis)]
  const plain: Client = {
    ...commands,
    getMany: (keys) => getEach(runScript, keys).then(valuesOrFirstError),
    setMany: (entries) => transaction(redis, entries),
    // ioredis copies its arguments into a new array, so handing it the caller's readonly array is safe.
    unlink: (keys) => redis.unlink(keys as Array<string>),
    scanners: () => scanners,
    commandTimeout: redis.options.commandTimeout,
    server
  }
  if (!batching) return plain

  const batcher = Batch.make(maxBatch)
  const afterBatch =
    <A extends ReadonlyArray<unknown>, R>(command: (...args: A) => R) =>
    (...args: A): R => {
      batcher.flush()
      return command(...args)
    }
  const scannersAfterBatch: ReadonlyArray<Scanner> = scanners.map(afterBatch)

  // A write on a replica fails inside the script, where ioredis's `reconnectOnError` (which follows a Sentinel
  // failover on READONLY) never sees it: ask it here, as ioredis would for a plain command.
  const reconnectIfReadOnly = (reply: unknown): unknown => {
    const decide = redis.options.reconnectOnError
    if (Array.isArray(reply) && typeof decide === "function") {
      const readOnly = reply.find((answer) => answer instanceof Error && isReadOnly(answer))
      if (readOnly instanceof Error && decide(readOnly) && redis.status !== "reconnecting") redis.disconnect(true)
    }
    return reply
  }

  const getOne = batcher.kind({
    one: commands.get,
    many: (keys: ReadonlyArray<string>) => runScript(getEachScript, keys, noArgs),
    answer: stringOrNull
  })
  const getWithTimeToLiveOne = batcher.kind({
    one: commands.getWithTimeToLive,
    many: (keys: ReadonlyArray<string>) => runScript(getWithTimeToLiveBatchScript, keys, noArgs),
    // The backend checks the shape, as it does for the single-key script.
    answer: asIs
  })
  const setOne = batcher.kind({
    one: (entry: Entry) => commands.set(entry.key, entry.value, entry.timeToLive),
    many: (entries: ReadonlyArray<Entry>) =>
      runScript(setBatchScript, entries.map(keyOf), valueAndTimeToLive(entries)).then(reconnectIfReadOnly),
    answer: asIs
  })

  return {
    get: getOne,
    getWithTimeToLive: getWithTimeToLiveOne,
    set: (key, value, timeToLive) => setOne({ key, value, timeToLive }),
    getMany: afterBatch(plain.getMany),
    setIfAbsent: afterBatch(plain.setIfAbsent),
    setMany: afterBatch(plain.setMany),
    deleteIfEquals: afterBatch(plain.deleteIfEquals),
    unlink: afterBatch(plain.unlink),
    exists: afterBatch(plain.exists),
    pttl: afterBatch(plain.pttl),
    pexpire: afterBatch(plain.pexpire),
    persist: afterBatch(plain.persist),
    incrementBy: afterBatch(plain.incrementBy),
    scanners: () => scannersAfterBatch,
    ping: afterBatch(plain.ping),
    commandTimeout: plain.commandTimeout,
    server
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
 * ioredis asks the sentinels through short-lived clients of its own, built by a private method with a fixed set of
 * options: each one that could not connect leaves a 2-second disconnect timer behind, which keeps a finished program
 * alive. Their options get `disconnectTimeout: 0`, as Cachet's own connections have. Guarded: an ioredis without
 * that method keeps its behaviour.
 */
const promptSentinelClients = (redis: Redis): Redis => {
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

/** `host:port`, with brackets around an IPv6 host. */
export const addressText = ({ host, port }: Address): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`

/**
 * A Cluster node answers PING like any server, then MOVED for most keys: refuse it at startup with the way out.
 * CLUSTER INFO is refused by a server without cluster support (and by an ACL user without the command), which is
 * no reason to fail.
 */
const notAClusterNode = (redis: Redis): Effect.Effect<void, CacheError> =>
  Effect.flatMap(
    Effect.promise(() =>
      redis.cluster("INFO").then(
        (reply: unknown) => typeof reply === "string" && reply.includes("cluster_state:"),
        () => false
      )
    ),
    (clusterNode) =>
      clusterNode
        ? Effect.fail(
            new CacheInvalidInputError({
              operation: "connect",
              code: "INVALID_ARGUMENT",
              reason:
                "this server is a Cluster node: use `cluster: { nodes }` (or REDIS_CLUSTER_NODES) instead of a url or host"
            })
          )
        : Effect.void
  )

const whereOf = (settings: ConnectionSettings): Where => {
  const sentinel = settings.sentinel
  if (sentinel === undefined) {
    return {
      server: addressText({ host: settings.host ?? "localhost", port: settings.port ?? 6379 }),
      tls: tlsOptions(settings.tls) !== undefined
    }
  }
  return {
    server: `sentinels ${sentinel.sentinels.map(addressText).join(", ")}`,
    tls: tlsOptions(settings.tls) !== undefined || tlsOptions(sentinel.tls) !== undefined,
    sentinelName: sentinel.name
  }
}

/**
 * A standalone connection, direct or through Sentinel, checked with PING (unless its startup is lazy).
 */
export const acquire = (settings: ConnectionSettings): Effect.Effect<Client, CacheError, Scope.Scope> => {
  const where = whereOf(settings)
  const server = settings.sentinel === undefined ? where.server : undefined
  return acquireDriver(
    {
      create: () => {
        const redis = new Redis(redisOptions(settings))
        return settings.sentinel === undefined ? redis : promptSentinelClients(redis)
      },
      where,
      // ioredis reports what each sentinel answered as `sentinelError`, and only the giving up as `error`.
      errorEvents: settings.sentinel === undefined ? ["error"] : ["error", "sentinelError"],
      start: (redis) => redis.connect().then(() => redis.ping()),
      client: (redis) => fromRedis(redis, settings.batching, server),
      verify: notAClusterNode
    },
    settings
  )
}
