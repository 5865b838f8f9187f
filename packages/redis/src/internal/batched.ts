/**
 * The commands that are batched (`batch.ts`): `get`, `getWithTimeToLive` and `set`, each a kind whose batch is one
 * script call. A standalone connection has one set of them; a Cluster one per hash slot, since a script's keys must
 * share a slot.
 */

import type { Entry } from "@cachet/core/Backend"
import type * as Batch from "./batch.js"
import { bufferOrNull, type Client, noArgs, stringOrNull, wire } from "./commands.js"
import * as Scripts from "./scripts.js"

/**
 * Items per batch; a full one is sent at once and the next one opens. Small enough that, with many callers, several
 * batches are in flight and the server works on one while this process reads another (64 callers in batches of 16:
 * about 1.5× the throughput of one batch of 64 here), large enough to share one command among many keys.
 */
export const maxItems = 16

/**
 * The size of a batch of sets, in characters of keys and values: an item that would take a batch past it sends the
 * batch first, so that sixteen large values never make one script call of many megabytes.
 */
export const maxSize = 1024 * 1024

const asIs = (reply: unknown): unknown => reply

const keyOf = (entry: Entry): string => entry.key

const sizeOf = (entry: Entry): number =>
  entry.key.length + (typeof entry.value === "string" ? entry.value.length : entry.value.byteLength)

const valueAndTimeToLive = (entries: ReadonlyArray<Entry>): Array<string | Buffer> => {
  const args = new Array<string | Buffer>(entries.length * 2)
  entries.forEach((entry, i) => {
    args[2 * i] = wire(entry.value)
    args[2 * i + 1] = entry.timeToLive === undefined ? "" : String(entry.timeToLive)
  })
  return args
}

/** The batched commands, the byte reads among them (for views whose codec is binary). */
export type Batched = Pick<Client, "get" | "getWithTimeToLive" | "set"> & {
  readonly bytes: Pick<Client["bytes"], "get" | "getWithTimeToLive">
}

/**
 * The batched commands on `batcher`: a batch of one is sent by `one`, a larger one as a script call by `many`.
 */
export const make = (batcher: Batch.Batcher, one: Batched, many: Scripts.ScriptRunner): Batched => {
  const get = batcher.kind({
    one: one.get,
    many: (keys: ReadonlyArray<string>) => many(Scripts.getEach, keys, noArgs),
    answer: stringOrNull
  })
  const getWithTimeToLive = batcher.kind({
    one: one.getWithTimeToLive,
    many: (keys: ReadonlyArray<string>) => many(Scripts.getWithTimeToLiveBatch, keys, noArgs),
    // The backend checks the shape, as it does for the single-key script.
    answer: asIs
  })
  const getBytes = batcher.kind({
    one: one.bytes.get,
    many: (keys: ReadonlyArray<string>) => many(Scripts.getEach, keys, noArgs, "bytes"),
    answer: bufferOrNull
  })
  const getWithTimeToLiveBytes = batcher.kind({
    one: one.bytes.getWithTimeToLive,
    many: (keys: ReadonlyArray<string>) => many(Scripts.getWithTimeToLiveBatch, keys, noArgs, "bytes"),
    answer: asIs
  })
  const set = batcher.kind({
    one: (entry: Entry) => one.set(entry.key, entry.value, entry.timeToLive),
    many: (entries: ReadonlyArray<Entry>) => many(Scripts.setBatch, entries.map(keyOf), valueAndTimeToLive(entries)),
    answer: asIs,
    size: sizeOf
  })
  return {
    get,
    getWithTimeToLive,
    set: (key, value, timeToLive) => set({ key, value, timeToLive }),
    bytes: { get: getBytes, getWithTimeToLive: getWithTimeToLiveBytes }
  }
}
