/**
 * Tags: which entries an invalidation removes, kept beside the entries in the reserved key space (`keySpace.ts`).
 *
 * - Per tag (and view prefix), an index (the full keys of the entries written with it, scored by their expiry) and
 *   an epoch (a random token, replaced by each invalidation). Both share a hash slot, so the backend's `tagAdd` and
 *   `tagTake` are each atomic over them. Writes sweep expired members; an index expires with its last member. A
 *   command that moves a tagged entry's expiry re-scores it (`extend`).
 * - Per tagged entry, a record of the tags it was written with and a fingerprint of its value, written with the
 *   entry and expiring with it. A write with other tags replaces the record, so the old tags no longer reach the
 *   entry; a value the record does not describe (an untagged write over a tagged entry, a write whose record did
 *   not land) is removed by any tag that still indexes it: invalidation may remove more, never less.
 *
 * The race rule. A tagged write adds its keys to the indexes and reads the epochs in one step per tag, writes, then
 * takes the same step again and compares the epochs; an invalidation replaces the epoch and takes the index in one
 * step, then deletes. Either the invalidation's step comes after the write's first step, and then it finds the key
 * (and deletes the value if the write has landed) or the write sees a new epoch and deletes what it wrote itself
 * (compare-and-delete); or it comes before, and the write is newer than the invalidation (its key is in the fresh
 * index). So a write racing an invalidation of one of its tags never outlives both calls, unless it began after the
 * invalidation's step. This holds across processes and across Cluster slots: no step needs two slots at once.
 */
import * as Effect from "effect/Effect"
import type { Entry, TagMember } from "../Backend.js"
import type { CacheError } from "../CacheError.js"
import type { Complete } from "./backend.js"
import * as KeySpace from "./keySpace.js"

/** How long an epoch lives after its invalidation: far longer than a tagged write takes between its two reads. */
export const epochTimeToLive = 10 * 60_000

/** Index members an invalidation reads and deletes per round trip. */
const chunkSize = 500

const lane = (bytes: Uint8Array, basis: number, prime: number): number => {
  let hash = basis
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ (bytes[i] ?? 0), prime)
  return hash >>> 0
}

const utf8 = new TextEncoder()

/**
 * Two FNV-1a lanes over the value's bytes (text as UTF-8, as the server stores it), and the length: tells one stored
 * value from another, whichever form it is read back in.
 */
export const fingerprint = (value: string | Uint8Array): string => {
  const bytes = typeof value === "string" ? utf8.encode(value) : value
  return `${bytes.length.toString(36)}.${lane(bytes, 0x811c9dc5, 0x01000193).toString(36)}.${lane(bytes, 0x050c5d1f, 0x0100019d).toString(36)}`
}

/** The record stored beside an entry written with `tags`: its value's fingerprint, then the tags. */
export const record = (value: string | Uint8Array, tags: ReadonlyArray<string>): string =>
  JSON.stringify([fingerprint(value), ...tags])

/** The record's fingerprint and tags, or `undefined` when it is not a record. */
const parseRecord = (
  stored: string
): { readonly fingerprint: unknown; readonly tags: ReadonlyArray<string> } | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(stored)
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed)) return undefined
  const tags: Array<string> = []
  for (let i = 1; i < parsed.length; i++) {
    const tag: unknown = parsed[i]
    if (typeof tag === "string") tags.push(tag)
  }
  return { fingerprint: parsed[0], tags }
}

/**
 * Whether an invalidation of `tags` removes the entry stored as `value` with `stored` beside it: when the record
 * names one of the tags, or is missing, unreadable, or of another value (the entry is indexed, so it may be tagged).
 */
export const mustGo = (value: string | Uint8Array, stored: string | undefined, tags: ReadonlySet<string>): boolean => {
  const parsed = stored === undefined ? undefined : parseRecord(stored)
  return parsed === undefined || parsed.fingerprint !== fingerprint(value) || parsed.tags.some((tag) => tags.has(tag))
}

/**
 * `f` of each item, concurrently where that saves round trips: never for a synchronous backend, whose answers are
 * at hand (a fiber per item would cost more than the commands), nor for a single item.
 */
const each = <A, B>(
  backend: Complete,
  items: ReadonlyArray<A>,
  f: (item: A) => Effect.Effect<B, CacheError>
): Effect.Effect<Array<B>, CacheError> =>
  Effect.forEach(items, f, { concurrency: backend.synchronous || items.length < 2 ? 1 : "unbounded" })

/**
 * Write `entries` with `tags` (`"add"`: one entry, only if absent): whether written. Call inside a runner's step.
 */
export const write = (
  backend: Complete,
  prefix: string,
  entries: ReadonlyArray<Entry>,
  tags: ReadonlyArray<string>,
  mode: "set" | "add"
): Effect.Effect<boolean, CacheError> => {
  const { commands } = backend
  const keys = tags.map((tag) => KeySpace.tagKeys(prefix, tag))
  const members: ReadonlyArray<TagMember> = entries.map(({ key, timeToLive }) => ({ key, timeToLive }))
  const records: ReadonlyArray<Entry> = entries.map(({ key, value, timeToLive }) => ({
    key: KeySpace.tagRecord(key),
    value: record(value, tags),
    timeToLive
  }))
  const store = (): Effect.Effect<boolean, CacheError> => {
    if (mode === "set") return Effect.as(commands.setMany([...entries, ...records]), true)
    const [entry] = entries
    const [stored] = records
    if (entry === undefined || stored === undefined) return Effect.succeed(false)
    return Effect.flatMap(commands.add(entry.key, entry.value, entry.timeToLive), (added) =>
      added ? Effect.as(commands.set(stored.key, stored.value, stored.timeToLive), true) : Effect.succeed(false)
    )
  }
  // What this write stored, removed again: an invalidation of one of its tags ran while it was writing.
  const withdraw = each(backend, [...entries, ...records], ({ key, value }) => commands.deleteIfEquals(key, value))
  return Effect.flatMap(
    each(backend, keys, ({ index, epoch }) => commands.tagAdd(index, epoch, members)),
    (before) =>
      Effect.flatMap(Effect.suspend(store), (written) =>
        written
          ? Effect.flatMap(
              // The epochs again, each read with its index scored once more: from after the entry's write, so an
              // index never lets go of an entry before the entry's own expiry (which `extend` relies on).
              each(backend, keys, ({ index, epoch }) => commands.tagAdd(index, epoch, members)),
              (after) =>
                after.every((epoch, i) => epoch === before[i]) ? Effect.succeed(true) : Effect.as(withdraw, true)
            )
          : Effect.succeed(false)
      )
  )
}

/**
 * `command`, which moves the expiry of the entry `full` to `timeToLive` (whole milliseconds ≥ 1, or `undefined`
 * for none), with the entry kept within reach of the tags it was written with: `expire`, `persist` and a read that
 * resets the expiry. Its tags' indexes score an entry by the expiry it was written with, and would let it go then.
 *
 * The entry's record is read in the same round trip as the command (for an untagged entry, that is all it costs).
 * When the command moved the expiry of a tagged entry, the record takes the new expiry, then each index of the
 * view's tags re-scores the entry. Until then the indexes held the entry up to the record's old expiry (a tagged
 * write scores its indexes once more after its write), so an invalidation in between took it; if that expiry may
 * have passed before the indexes were re-scored, an invalidation may have missed the entry, and it is deleted
 * (an invalidation may remove more, never less). Tags written through another namespace are not re-scored: their
 * indexes belong to that namespace.
 */
export const extend = <R>(
  backend: Complete,
  prefix: string,
  full: string,
  timeToLive: number | undefined,
  command: () => Effect.Effect<R, CacheError>,
  moved: (reply: R) => boolean
): Effect.Effect<R, CacheError> =>
  Effect.suspend(() => {
    const { commands } = backend
    const recordKey = KeySpace.tagRecord(full)
    const started = performance.now()
    return Effect.flatMap(
      Effect.all([Effect.suspend(command), Effect.suspend(() => commands.getWithTimeToLive(recordKey))], {
        concurrency: backend.synchronous ? 1 : 2
      }),
      ([reply, stored]) => {
        const text = stored === undefined || !moved(reply) ? undefined : KeySpace.textOf(stored.value)
        const tags = text === undefined ? [] : (parseRecord(text)?.tags ?? [])
        if (stored === undefined || tags.length === 0) return Effect.succeed(reply)
        const member: ReadonlyArray<TagMember> = [{ key: full, timeToLive }]
        const rescored = Effect.zipRight(
          Effect.suspend(() =>
            timeToLive === undefined ? commands.persist(recordKey) : commands.expire(recordKey, timeToLive)
          ),
          each(backend, tags, (tag) => {
            const { index, epoch } = KeySpace.tagKeys(prefix, tag)
            return commands.tagAdd(index, epoch, member)
          })
        )
        return Effect.flatMap(rescored, () =>
          stored.timeToLive >= 0 && performance.now() - started >= stored.timeToLive
            ? Effect.as(commands.delete([full, recordKey]), reply)
            : Effect.succeed(reply)
        )
      }
    )
  })

/** What an invalidation did: how many entries it removed, and their full keys. */
export interface Invalidated {
  readonly count: number
  readonly keys: ReadonlyArray<string>
}

/** Remove every entry written with one of `tags` under `prefix`. Call inside a runner's step. */
export const invalidate = (
  backend: Complete,
  prefix: string,
  tags: ReadonlyArray<string>
): Effect.Effect<Invalidated, CacheError> =>
  Effect.suspend(() => {
    const { commands } = backend
    const token = globalThis.crypto.randomUUID()
    const wanted: ReadonlySet<string> = new Set(tags)

    const deleteAll = (keys: ReadonlyArray<string>) => (keys.length === 0 ? Effect.succeed(0) : commands.delete(keys))

    const gone: Array<string> = []
    const removeChunk = (members: ReadonlyArray<string>) =>
      Effect.flatMap(
        // As bytes where the backend has byte reads: a value's fingerprint is of the bytes it was written as.
        Effect.suspend(() => backend.bytesCommands.getMany([...members, ...members.map(KeySpace.tagRecord)])),
        (stored) => {
          const removed: Array<string> = []
          const records: Array<string> = []
          members.forEach((key, i) => {
            const value = stored[i]
            const tagRecord = KeySpace.textOf(stored[members.length + i])
            const goes = value !== undefined && mustGo(value, tagRecord, wanted)
            if (goes) removed.push(key)
            // A kept entry keeps its record; a removed or vanished one leaves none behind.
            if (tagRecord !== undefined && (goes || value === undefined)) records.push(KeySpace.tagRecord(key))
          })
          gone.push(...removed)
          return Effect.map(each(backend, [removed, records], deleteAll), ([count]) => count ?? 0)
        }
      )

    return Effect.flatMap(
      each(
        backend,
        tags.map((tag) => KeySpace.tagKeys(prefix, tag)),
        ({ index, epoch }) => commands.tagTake(index, epoch, token, epochTimeToLive)
      ),
      (lists) => {
        const members = Array.from(new Set(lists.flat()))
        const chunks: Array<ReadonlyArray<string>> = []
        for (let i = 0; i < members.length; i += chunkSize) chunks.push(members.slice(i, i + chunkSize))
        return Effect.map(
          Effect.reduce(chunks, 0, (count, chunk) => Effect.map(removeChunk(chunk), (n) => count + n)),
          (count): Invalidated => ({ count, keys: gone })
        )
      }
    )
  })
