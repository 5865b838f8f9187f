/**
 * The `Client` the backend talks to, the handful of commands it needs, and the ones a standalone connection and a
 * Cluster issue alike, so that the Cluster's client (per-slot batches, SCAN on every master) slots in beside the
 * standalone one without touching the backend.
 */

import type { Backend, Entry, TagMember } from "@cachet/core/Backend"
import type { Redis } from "ioredis"
import { UnexpectedReply } from "./errors.js"
import * as Scripts from "./scripts.js"

/**
 * One SCAN step on one server: the next cursor (`"0"` when done) and the keys of this step.
 */
export type Scanner = (
  cursor: string,
  pattern: string,
  count: number
) => Promise<readonly [cursor: string, keys: ReadonlyArray<string>]>

/**
 * The reads of a `Client`, whose values arrive as `V`: text, or bytes (ioredis's buffer replies) in `Client.bytes`.
 */
export interface Reads<V> {
  readonly get: (key: string) => Promise<V | null>
  /** `[value, pttl]`, or `null` when absent, read atomically. */
  readonly getWithTimeToLive: (key: string) => Promise<unknown>
  /** GET of every key (per hash slot on a Cluster); rejects with the first failed key's error, in key order. */
  readonly getMany: (keys: ReadonlyArray<string>) => Promise<ReadonlyArray<V | null>>
  /** GETEX PX, GETEX PERSIST (`undefined`), or GETEX PXAT in the past (`0`: the key deleted once read). */
  readonly getAndExpire: (key: string, timeToLive: number | undefined) => Promise<V | null>
}

/**
 * The commands the backend uses. Replies of scripts are `unknown`: the backend checks their shape.
 */
export interface Client extends Reads<string> {
  /** The reads again, answering values as the bytes they are: for views whose codec is binary. */
  readonly bytes: Reads<Buffer>
  readonly set: (key: string, value: string | Uint8Array, timeToLive: number | undefined) => Promise<unknown>
  /** SET KEEPTTL. */
  readonly setKeepingTimeToLive: (key: string, value: string | Uint8Array) => Promise<unknown>
  /** SET NX: `"OK"` when written, `null` otherwise. */
  readonly setIfAbsent: (key: string, value: string | Uint8Array, timeToLive: number | undefined) => Promise<unknown>
  /** All or nothing (per hash slot on a Cluster); rejects with the first failure. */
  readonly setMany: (entries: ReadonlyArray<Entry>) => Promise<void>
  /** DEL only if the value is `expected`, in one script: `1` when deleted, `0` otherwise. */
  readonly deleteIfEquals: (key: string, expected: string | Uint8Array) => Promise<unknown>
  readonly unlink: (keys: ReadonlyArray<string>) => Promise<number>
  readonly exists: (key: string) => Promise<number>
  readonly pttl: (key: string) => Promise<number>
  readonly pexpire: (key: string, timeToLive: number) => Promise<number>
  readonly persist: (key: string) => Promise<number>
  /** INCRBY then GET in one script: the new value as a decimal string, exact in 64 bits. */
  readonly incrementBy: (key: string, by: string) => Promise<unknown>
  /** The tag script `tagAdd` on a tag's index and epoch (one slot): the epoch's value or `null`. */
  readonly tagAdd: (index: string, epoch: string, members: ReadonlyArray<TagMember>) => Promise<unknown>
  /** The tag script `tagTake`: the members taken. */
  readonly tagTake: (index: string, epoch: string, token: string, epochTimeToLive: number) => Promise<unknown>
  /** One scanner per server holding a share of the keys: one for a standalone server, one per master. */
  readonly scanners: () => ReadonlyArray<Scanner>
  readonly ping: () => Promise<unknown>
  /** Milliseconds: the command timeout the driver enforces itself, if any; the backend's deadline matches it. */
  readonly commandTimeout: number | undefined
  /** The server its commands go to, named in their errors; `undefined` where it moves (Sentinel, Cluster). */
  readonly server?: string | undefined
  /** The same server, for the `server.address` and `server.port` span attributes. */
  readonly endpoint?: { readonly address: string; readonly port: number } | undefined
  /**
   * Why the driver's last connection attempt failed, until it is ready again: a command refused meanwhile only
   * learns "not connected", and this tells a refused login (a rotated password) from a server that is down.
   */
  readonly connectionError?: (() => unknown) | undefined
  /** How a local tier in front of this client is kept coherent (`coherence.ts`). */
  readonly coherence?: Backend["coherence"]
}

/**
 * The commands a standalone connection and a Cluster share. A Cluster routes each by its key's slot, so a MULTI on
 * it must keep to one slot.
 */
export type Commands = Pick<
  Redis,
  "get" | "getBuffer" | "getex" | "getexBuffer" | "set" | "exists" | "pttl" | "pexpire" | "persist" | "ping" | "multi"
>

export const noArgs: ReadonlyArray<string> = []

/**
 * A value as ioredis sends it: text as is, bytes as a `Buffer` over the same memory (ioredis would write any other
 * `Uint8Array` as its `toString()`, the numbers joined by commas).
 */
export const wire = (value: string | Uint8Array): string | Buffer =>
  typeof value === "string" || Buffer.isBuffer(value)
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength)

/**
 * SET of every entry in one MULTI/EXEC on `redis`; rejects with the first failure.
 */
export const transaction = (redis: Commands, entries: ReadonlyArray<Entry>): Promise<void> => {
  const multi = redis.multi()
  for (const entry of entries) {
    if (entry.timeToLive === undefined) multi.set(entry.key, wire(entry.value))
    else multi.set(entry.key, wire(entry.value), "PX", entry.timeToLive)
  }
  return multi.exec().then((results) => {
    if (results === null) throw new Error("EXECABORT transaction aborted")
    for (const [error] of results) {
      if (error !== null) throw error
    }
  })
}

/** The commands on one key, issued the same way on a standalone connection and on a Cluster. */
export type SingleKey = Omit<Client, "getMany" | "setMany" | "unlink" | "scanners" | "commandTimeout" | "bytes"> & {
  readonly bytes: Omit<Reads<Buffer>, "getMany">
}

/**
 * The commands on one key, the same on a standalone connection and on a Cluster.
 */
// GETEX's expiry arguments. PXAT 1 is long past: Redis answers the value, then deletes the key (atomically, and
// replicated as a deletion).
const expiryOf = (timeToLive: number | undefined): ["PERSIST"] | ["PXAT", number] | ["PX", number] =>
  timeToLive === undefined ? ["PERSIST"] : timeToLive === 0 ? ["PXAT", 1] : ["PX", timeToLive]

const getex = (redis: Commands, key: string, timeToLive: number | undefined): Promise<string | null> => {
  const expiry = expiryOf(timeToLive)
  return expiry[0] === "PERSIST"
    ? redis.getex(key, "PERSIST")
    : expiry[0] === "PXAT"
      ? redis.getex(key, "PXAT", expiry[1])
      : redis.getex(key, "PX", expiry[1])
}

const getexBuffer = (redis: Commands, key: string, timeToLive: number | undefined): Promise<Buffer | null> => {
  const expiry = expiryOf(timeToLive)
  return expiry[0] === "PERSIST"
    ? redis.getexBuffer(key, "PERSIST")
    : expiry[0] === "PXAT"
      ? redis.getexBuffer(key, "PXAT", expiry[1])
      : redis.getexBuffer(key, "PX", expiry[1])
}

export const singleKey = (redis: Commands, runScript: Scripts.ScriptRunner): SingleKey => ({
  get: (key) => redis.get(key),
  getWithTimeToLive: (key) => runScript(Scripts.getWithTimeToLive, [key], noArgs),
  bytes: {
    get: (key) => redis.getBuffer(key),
    getWithTimeToLive: (key) => runScript(Scripts.getWithTimeToLive, [key], noArgs, "bytes"),
    getAndExpire: (key, timeToLive) => getexBuffer(redis, key, timeToLive)
  },
  set: (key, value, timeToLive) =>
    timeToLive === undefined ? redis.set(key, wire(value)) : redis.set(key, wire(value), "PX", timeToLive),
  setKeepingTimeToLive: (key, value) => redis.set(key, wire(value), "KEEPTTL"),
  getAndExpire: (key, timeToLive) => getex(redis, key, timeToLive),
  setIfAbsent: (key, value, timeToLive) =>
    timeToLive === undefined ? redis.set(key, wire(value), "NX") : redis.set(key, wire(value), "PX", timeToLive, "NX"),
  deleteIfEquals: (key, expected) => runScript(Scripts.deleteIfEquals, [key], [wire(expected)]),
  exists: (key) => redis.exists(key),
  pttl: (key) => redis.pttl(key),
  pexpire: (key, timeToLive) => redis.pexpire(key, timeToLive),
  persist: (key) => redis.persist(key),
  incrementBy: (key, by) => runScript(Scripts.increment, [key], [by]),
  tagAdd: (index, epoch, members) => {
    const args = new Array<string>(2 * members.length)
    members.forEach((member, i) => {
      args[2 * i] = member.timeToLive === undefined ? "" : String(member.timeToLive)
      args[2 * i + 1] = member.key
    })
    return runScript(Scripts.tagAdd, [index, epoch], args)
  },
  tagTake: (index, epoch, token, epochTimeToLive) =>
    runScript(Scripts.tagTake, [index, epoch], [token, String(epochTimeToLive)]),
  ping: () => redis.ping()
})

export const stringOrNull = (reply: unknown): string | null => {
  if (reply === null || typeof reply === "string") return reply
  throw new UnexpectedReply("GET answered with something other than a string or nil")
}

export const bufferOrNull = (reply: unknown): Buffer | null => {
  if (reply === null || Buffer.isBuffer(reply)) return reply
  throw new UnexpectedReply("GET answered with something other than bytes or nil")
}

/**
 * GET of every key in one script call (the caller keeps to one slot on a Cluster): per key, its value (as text, or
 * with `replies` `"bytes"` as a `Buffer`), `null`, or the `Error` that `get` of that key would fail with.
 */
export const getEach = (
  runScript: Scripts.ScriptRunner,
  keys: ReadonlyArray<string>,
  replies?: Scripts.Replies
): Promise<ReadonlyArray<unknown>> =>
  runScript(Scripts.getEach, keys, noArgs, replies).then((reply) => {
    if (!Array.isArray(reply) || reply.length !== keys.length) {
      throw new UnexpectedReply("a GET script answered with a different number of values than keys asked")
    }
    return reply
  })

/** What `readEach` needs of a connection or a Cluster. */
export interface MultiRead {
  readonly mget: (keys: Array<string>) => Promise<Array<string | null>>
  readonly mgetBuffer: (keys: Array<string>) => Promise<Array<Buffer | null>>
  readonly exists: (keys: Array<string>) => Promise<number>
}

/**
 * `getEach`'s answers in one round trip of plain reads where it can: MGET, and EXISTS of the same keys sent with it.
 * MGET answers nil for a key of another type, where GET fails WRONGTYPE; when EXISTS counts exactly the values MGET
 * found, no key was of another type and MGET's answer stands, without the script's cost on the server (for 100
 * keys, about four times the server time of MGET and EXISTS together). A count that differs (a key of another type,
 * or one written, deleted or expired between the two commands) sends the script, which answers atomically, as a
 * second round trip of the same call (`followUp`): it may see commands issued after this one. Redis runs the
 * commands one client sent together back to back, so the two see the same data unless a write lands between them,
 * and only a deletion there could hide a key of another type: at worst that key then reads as the miss MGET calls it.
 */
export const readEach = (
  redis: MultiRead,
  runScript: Scripts.ScriptRunner,
  keys: ReadonlyArray<string>,
  replies: Scripts.Replies,
  followUp: Scripts.FollowUp
): Promise<ReadonlyArray<unknown>> => {
  // ioredis copies its arguments into a new array, so handing it the caller's readonly array is safe.
  const asked = keys as Array<string>
  const values: Promise<ReadonlyArray<unknown>> = replies === "bytes" ? redis.mgetBuffer(asked) : redis.mget(asked)
  return Promise.all([values, redis.exists(asked)]).then(([found, existing]) => {
    if (found.length !== keys.length) throw new UnexpectedReply("MGET answered a different number of values than keys")
    let present = 0
    for (const value of found) if (value !== null) present++
    return present === existing ? found : followUp(() => getEach(runScript, keys, replies))
  })
}

/**
 * The values of `getEach`'s answers (each checked by `value`), or the error of the first key that failed.
 */
export const valuesOrFirstError = <V>(
  answers: ReadonlyArray<unknown>,
  value: (reply: unknown) => V | null
): Array<V | null> => {
  const values = new Array<V | null>(answers.length)
  for (let i = 0; i < answers.length; i++) {
    const answer = answers[i]
    if (answer instanceof Error) throw answer
    values[i] = value(answer)
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
