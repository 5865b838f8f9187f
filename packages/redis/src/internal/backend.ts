/**
 * The `Backend` on a `Client`: one Redis command (or one script) per operation, every failure mapped to a
 * `CacheError`, guarded by the circuit breaker and bounded in time. (The core applies the user's retry schedule.)
 */

import { type Backend, deleteCounting, type Entry, type ValueWithTimeToLive } from "@cachet/core/Backend"
import type { Operation } from "@cachet/core/CacheError"
import { CacheCommandError, type CacheError, CacheTimeoutError, CacheUnavailableError } from "@cachet/core/CacheError"
import type { CircuitBreaker } from "@cachet/core/CircuitBreaker"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Client, Scanner } from "./commands.js"
import * as Deadline from "./deadline.js"
import { CircuitOpen, fromDriver, locatedAt, UnexpectedReply } from "./errors.js"

export interface Settings {
  /** Milliseconds; the deadline of every command, unless the client's driver has a command timeout of its own. */
  readonly commandTimeout: number
  readonly circuit: CircuitBreaker
}

/** Keys asked of each SCAN step: large enough to keep round trips few, small enough not to block the server. */
const scanCount = 1000

const unexpected = (operation: Operation, key: string | undefined, detail: string): CacheError =>
  new CacheCommandError({ operation, key, code: "COMMAND_FAILED", cause: new UnexpectedReply(detail) })

const toUndefined = (value: string | null): string | undefined => (value === null ? undefined : value)

const toUndefinedAll = (values: ReadonlyArray<string | null>): ReadonlyArray<string | undefined> => {
  const out = new Array<string | undefined>(values.length)
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    out[i] = value === null ? undefined : value
  }
  return out
}

// ioredis answers bytes as `Buffer`s. Handed on as plain `Uint8Array`s over the same memory, they are what every
// other backend answers, so that what a codec makes of them (MessagePack's `Uint8Array` fields) is the same class.
const plainBytes = (buffer: Buffer): Uint8Array => new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)

const bytesOrUndefined = (value: Buffer | null): Uint8Array | undefined =>
  value === null ? undefined : plainBytes(value)

const bytesOrUndefinedAll = (values: ReadonlyArray<Buffer | null>): ReadonlyArray<Uint8Array | undefined> =>
  values.map(bytesOrUndefined)

const isOne = (n: number): boolean => n === 1
const isPositive = (n: number): boolean => n > 0
const isOk = (reply: unknown): boolean => reply === "OK"
const toVoid = (): void => undefined

const decimal = /^-?[0-9]+$/

// A Cluster's client breaks per master (`cluster.ts`): an open circuit there is this operation's, on this key.
// `instanceof` runs a proxy's getPrototypeOf trap, which may throw: whatever the driver rejects with must be read
// without throwing (a throw here would leave the caller to its deadline and reach an unhandled rejection).
const isCircuitOpen = (driverError: unknown): boolean => {
  try {
    return driverError instanceof CircuitOpen
  } catch {
    return false
  }
}

const failure = (
  driverError: unknown,
  operation: Operation,
  key: string | undefined,
  connectionError: (() => unknown) | undefined
): CacheError => {
  if (isCircuitOpen(driverError)) return new CacheUnavailableError({ operation, key, code: "CIRCUIT_OPEN" })
  const error = fromDriver(driverError, operation, key)
  // A connection that cannot log in refuses commands as "not connected": say that the login is what fails.
  if (error._tag !== "CacheUnavailableError" || error.code !== "NOT_CONNECTED" || connectionError === undefined) {
    return error
  }
  const why = connectionError()
  if (why === undefined) return error
  const refused = fromDriver(why, operation, key)
  return refused._tag === "CacheUnavailableError" && refused.code === "AUTH_FAILED" ? refused : error
}

/**
 * A Backend named `"redis"` on `client`.
 */
export const make = (client: Client, settings: Settings): Backend => {
  const { circuit } = settings
  const located = client.server === undefined ? identity<CacheError> : locatedAt(client.server)

  const decode = <A, B>(reply: (a: A) => B, a: A, operation: Operation, key: string | undefined) => {
    try {
      return Effect.succeed(reply(a))
    } catch (error) {
      return Effect.fail(unexpected(operation, key, error instanceof Error ? error.message : "bad reply"))
    }
  }

  // Every command goes through here: one `Effect.async` and one promise, no fiber. Its deadline is this backend's own
  // (the driver's timeout, when it enforces one, is the same length): whatever the driver does, even never settling,
  // the caller is answered with `CacheTimeoutError` once it passes. No canceller on purpose: an interrupted command
  // still settles (or times out) and tells the circuit breaker, so a half-open probe is never left pending.
  const deadlines = Deadline.make(client.commandTimeout ?? settings.commandTimeout)
  const call = <A, B>(
    operation: Operation,
    key: string | undefined,
    command: () => Promise<A>,
    reply: (a: A) => B
  ): Effect.Effect<B, CacheError> =>
    Effect.async<B, CacheError>((resume) => {
      // A failure can be instant (an open circuit, no connection): answered in the same turn, a caller retrying in a
      // loop would keep timers and I/O, the reconnection among them, from ever running. So every failure answers
      // from a later turn of the event loop; a success answers at once.
      const refused = circuit.admit(operation, key)
      if (refused !== undefined) {
        setImmediate(resume, Effect.fail(located(refused)))
        return
      }
      let settled = false
      const fail = (error: CacheError): void => {
        if (settled) return
        settled = true
        setImmediate(resume, Effect.fail(located(error)))
        deadlines.end(pending)
        circuit.onFailure(error)
      }
      const pending = new Deadline.Pending(() =>
        fail(new CacheTimeoutError({ operation, key, code: "COMMAND_TIMEOUT" }))
      )
      const succeed = (a: A): void => {
        if (settled) return
        settled = true
        deadlines.end(pending)
        circuit.onSuccess()
        resume(decode(reply, a, operation, key))
      }
      const failWith = (driverError: unknown): void =>
        fail(failure(driverError, operation, key, client.connectionError))
      deadlines.start(pending)
      try {
        command().then(succeed, failWith)
      } catch (driverError) {
        failWith(driverError)
      }
    })

  const decodeWithTimeToLive = (reply: unknown): ValueWithTimeToLive | undefined => {
    if (reply === null) return undefined
    if (Array.isArray(reply) && reply.length === 2) {
      const value: unknown = reply[0]
      const timeToLive: unknown = reply[1]
      if (typeof timeToLive === "number") {
        if (typeof value === "string") return { value, timeToLive }
        if (Buffer.isBuffer(value)) return { value: plainBytes(value), timeToLive }
      }
    }
    throw new UnexpectedReply("GET+PTTL script answered with an unexpected shape")
  }

  const decodeInteger = (reply: unknown): bigint => {
    if (typeof reply === "string" && decimal.test(reply)) return BigInt(reply)
    throw new UnexpectedReply("INCRBY script answered with something other than an integer")
  }

  const decodeEpoch = (reply: unknown): string | undefined => {
    if (reply === null) return undefined
    if (typeof reply === "string") return reply
    throw new UnexpectedReply("the tag script answered an epoch that is not a string")
  }

  const decodeMembers = (reply: unknown): ReadonlyArray<string> => {
    if (Array.isArray(reply) && reply.every((member) => typeof member === "string")) return reply
    throw new UnexpectedReply("the tag script answered members that are not strings")
  }

  const unlink = (keys: ReadonlyArray<string>): Effect.Effect<number, CacheError> =>
    call(
      "delete",
      keys.length === 1 ? keys[0] : undefined,
      () => client.unlink(keys),
      (n: number) => n
    )

  // The commands of `scan` followed by `delete`, in the same order, as a plain loop: a Stream step per batch costs,
  // while its code is cold (a deletion is rare), about as much as the batch's two round trips.
  const deleteFrom = (
    scanner: Scanner,
    pattern: string,
    counted: (key: string) => boolean,
    cursor: string,
    deleted: number
  ): Effect.Effect<number, CacheError> =>
    Effect.flatMap(
      call("scan", undefined, () => scanner(cursor, pattern, scanCount), identity),
      ([next, keys]) => {
        const total = Effect.map(deleteCounting(keys, counted, unlink), (n) => deleted + n)
        return next === "0" ? total : Effect.flatMap(total, (sum) => deleteFrom(scanner, pattern, counted, next, sum))
      }
    )

  const scanOne =
    (pattern: string) =>
    (scanner: Scanner): Stream.Stream<ReadonlyArray<string>, CacheError> =>
      Stream.paginateEffect("0", (cursor: string) =>
        call(
          "scan",
          undefined,
          () => scanner(cursor, pattern, scanCount),
          ([next, keys]): readonly [ReadonlyArray<string>, Option.Option<string>] => [
            keys,
            next === "0" ? Option.none() : Option.some(next)
          ]
        )
      ).pipe(Stream.filter((keys) => keys.length > 0))

  const { bytes } = client

  return {
    name: "redis",
    server: client.endpoint,
    get: (key) => call("get", key, () => client.get(key), toUndefined),
    getWithTimeToLive: (key) => call("get", key, () => client.getWithTimeToLive(key), decodeWithTimeToLive),
    getMany: (keys) =>
      keys.length === 0 ? Effect.succeed([]) : call("getMany", undefined, () => client.getMany(keys), toUndefinedAll),
    bytes: {
      get: (key) => call("get", key, () => bytes.get(key), bytesOrUndefined),
      getWithTimeToLive: (key) => call("get", key, () => bytes.getWithTimeToLive(key), decodeWithTimeToLive),
      getAndExpire: (key, timeToLive) => call("get", key, () => bytes.getAndExpire(key, timeToLive), bytesOrUndefined),
      getMany: (keys) =>
        keys.length === 0
          ? Effect.succeed([])
          : call("getMany", undefined, () => bytes.getMany(keys), bytesOrUndefinedAll)
    },
    set: (key, value, timeToLive) => call("set", key, () => client.set(key, value, timeToLive), toVoid),
    setKeepingTimeToLive: (key, value) => call("set", key, () => client.setKeepingTimeToLive(key, value), toVoid),
    getAndExpire: (key, timeToLive) => call("get", key, () => client.getAndExpire(key, timeToLive), toUndefined),
    setMany: (entries: ReadonlyArray<Entry>) =>
      entries.length === 0 ? Effect.void : call("setMany", undefined, () => client.setMany(entries), toVoid),
    add: (key, value, timeToLive) => call("add", key, () => client.setIfAbsent(key, value, timeToLive), isOk),
    deleteIfEquals: (key, expected) =>
      call(
        "deleteIfEquals",
        key,
        () => client.deleteIfEquals(key, expected),
        (reply: unknown) => reply === 1
      ),
    delete: (keys) => (keys.length === 0 ? Effect.succeed(0) : unlink(keys)),
    has: (key) => call("has", key, () => client.exists(key), isPositive),
    timeToLive: (key) =>
      call(
        "timeToLive",
        key,
        () => client.pttl(key),
        (n: number) => n
      ),
    expire: (key, timeToLive) => call("expire", key, () => client.pexpire(key, timeToLive), isOne),
    persist: (key) => call("persist", key, () => client.persist(key), isOne),
    increment: (key, by) => call("increment", key, () => client.incrementBy(key, by.toString()), decodeInteger),
    tagAdd: (index, epoch, members) =>
      call("tagAdd", undefined, () => client.tagAdd(index, epoch, members), decodeEpoch),
    tagTake: (index, epoch, token, epochTimeToLive) =>
      call("tagTake", undefined, () => client.tagTake(index, epoch, token, epochTimeToLive), decodeMembers),
    scan: (pattern) => {
      const scanners = client.scanners()
      const one = scanOne(pattern)
      const first = scanners[0]
      return scanners.length === 1 && first !== undefined
        ? one(first)
        : Stream.flatMap(Stream.fromIterable(scanners), one)
    },
    deleteMatching: (pattern, counted) =>
      Effect.suspend(() =>
        Effect.reduce(client.scanners(), 0, (deleted, scanner) => deleteFrom(scanner, pattern, counted, "0", deleted))
      ),
    ping: call("ping", undefined, () => client.ping(), toVoid),
    coherence: client.coherence,
    // Entries expire by the server's clock, which passes for real whatever clock the program runs with.
    expiryClock: "server"
  }
}
