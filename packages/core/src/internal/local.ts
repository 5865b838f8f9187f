/**
 * The local tier: decoded values in process, in front of the backend. One store per cache, bounded by entries and
 * by the encoded size of what it holds, least recently used out first. Every entry belongs to the view that
 * decoded it (its codec and schema), lives at most the tier's time-to-live and never past the backend entry's own.
 *
 * Coherence is a matter of order. Every read of the backend and every own write of a key takes a ticket when it
 * starts; every invalidation (a message from the backend, an own write, a flush) advances the tier's epoch and marks
 * the keys of the tickets in flight. A reply is kept only if nothing touched its key (or the whole tier) since its
 * ticket: a value that raced an invalidation is served once, never kept. While coherence is lost (the subscriber
 * disconnected, stopped answering, the data connection reconnected) the tier serves and keeps nothing.
 */
import * as Clock from "effect/Clock"
import * as Exit from "effect/Exit"
import * as MetricLabel from "effect/MetricLabel"
import type { Coherence, FlushReason, Invalidation } from "../Backend.js"
import type { CacheError } from "../CacheError.js"
import * as CacheResult from "../CacheResult.js"
import { metrics } from "./metrics.js"

/** The checked `local` options. */
export interface LocalSettings {
  readonly capacity: number
  readonly maxBytes: number | undefined
  /** Whole milliseconds ≥ 1. */
  readonly timeToLive: number
  readonly invalidation: "tracking" | "bus" | undefined
  readonly freeze: boolean
}

/**
 * A view's index into the tier: its own slots by the view's keys. A hit hashes the caller's key, which is usually a
 * string it has hashed before, instead of a prefixed copy made for the call; and a key found here was checked when
 * it was kept. The tier keeps every front in step with its own map.
 */
export interface Front {
  readonly prefix: string
  readonly slots: Map<string, Slot>
}

/**
 * One value the tier holds, for the view (its `front`) that decoded it. An own write keeps its encoded text, decoded
 * by the first read that finds it: what a read returns is what the backend would hand back, never the writer's
 * object.
 */
export interface Slot {
  readonly front: Front
  /** Its key in the front (the view's key) and in the tier (prefixed). */
  readonly key: string
  readonly full: string
  value: unknown
  /** `get`'s answer, made once: a local hit allocates nothing. */
  hit: Exit.Exit<CacheResult.CacheResult<unknown>, CacheError>
  /** The encoded text not decoded yet (an own write), or `undefined`. */
  text: string | Uint8Array | undefined
  /** The end of its life in the tier (by Effect's clock; also bounded by `remoteExpiresAt` when that is the same). */
  expiresAt: number
  /** When the backend entry expires (by the backend's clock: `Tier.remoteNow`), `Infinity` when it never does. */
  remoteExpiresAt: number
  weight: number
  /** When it was last moved to the recent end. */
  stamp: number
}

/** @internal */
export interface Tier {
  readonly settings: LocalSettings
  /** The clock's milliseconds (`TestClock` drives them in tests). */
  readonly now: () => number
  /** The milliseconds of the clock the backend expires entries by. */
  readonly remoteNow: () => number
  /**
   * A new view's front (`prefix`: where its keys live). Values decoded by one view (its codec and schema) are only
   * ever served through its own front.
   */
  readonly front: (prefix: string) => Front
  /** The value a view may serve for its `key`, if the tier holds a live one of its own. */
  readonly find: (front: Front, key: string) => Slot | undefined
  /**
   * A read or own write of `full` starts: its ticket. A write also marks the tickets in flight for `full` (their
   * replies are older than it); the value held meanwhile stays, as the write has not happened yet for any caller.
   */
  readonly begin: (full: string, write?: boolean) => number
  /**
   * It ended: keep the value (decoded by the front's view; `undefined` when `text` is yet to be decoded) unless
   * something touched `full` (a key under the front's prefix) since `ticket`: whether it was clean.
   */
  readonly keep: (
    front: Front,
    full: string,
    ticket: number,
    decoded: { readonly value: unknown } | undefined,
    text: string | Uint8Array,
    remoteTimeToLive: number | undefined
  ) => boolean
  /** A slot's pending text decoded: its value from now on. */
  readonly resolve: (slot: Slot, value: unknown) => void
  /** It ended without a value to keep. */
  readonly end: (full: string, ticket: number) => void
  /** Drop `full` and mark its tickets in flight: an invalidation, or an own write the tier does not follow. */
  readonly touch: (full: string) => void
  /**
   * Mark `full`'s tickets in flight, keeping its value: an own write ended, so a read still in flight (begun
   * before it landed) may answer what it replaced.
   */
  readonly mark: (full: string) => void
  /** Drop `full`'s value, if the tier holds one: an own write that was not kept. */
  readonly drop: (full: string) => void
  /**
   * Drop everything and mark every ticket in flight: a flush, counted in `cachet_local_flushes_total` unless
   * `counted` is false (the second half of one).
   */
  readonly flush: (reason: FlushReason, counted?: boolean) => void
  /** Tell other processes that these keys (or all of them) changed; only the bus needs it. */
  readonly announce: (keys: ReadonlyArray<string> | "all") => void
  /** Wire the backend's coherence in, once it is set up. */
  readonly connect: (coherence: Coherence) => void
  /** How many entries and encoded bytes the tier holds. */
  readonly size: () => { readonly entries: number; readonly bytes: number }
  /** What the backend reports: the handler `Backend.coherence` is given. */
  readonly receive: (event: Invalidation) => void
}

// The answer of a slot whose text is not decoded yet: never served (`Tiered.find` decodes first).
const pending: Exit.Exit<CacheResult.CacheResult<unknown>, CacheError> = Exit.succeed(CacheResult.miss)

/** Values are shared by every reader: with `freeze`, made immutable on their way in (for tests). */
const deepFreeze = (value: unknown, seen: Set<object> = new Set()): void => {
  if (typeof value !== "object" || value === null || seen.has(value)) return
  // A typed array's elements cannot be frozen: it stays as it is.
  if (ArrayBuffer.isView(value)) return
  seen.add(value)
  Object.freeze(value)
  for (const key of Reflect.ownKeys(value)) deepFreeze(Reflect.get(value, key), seen)
}

// Effect's live clock, whose milliseconds are `Date.now()`.
const live: object | null = Object.getPrototypeOf(Clock.make())

/**
 * `Date.now()` read at most once per 32 reads and once per synchronous stretch of the program: the cached reading
 * is dropped when the stretch ends (a microtask). Reading the system clock costs about a tenth of a local hit, and
 * within one stretch time barely moves: Redis itself reads its clock once per command, as lru-cache does per tick.
 * An entry can therefore be served at most that long (one stretch, or 32 reads) after it expired.
 */
const coarseNow = (() => {
  let reading = 0
  let left = 0
  const drop = () => {
    reading = 0
    left = 0
  }
  return (): number => {
    if (left > 0) {
      left--
      return reading
    }
    if (reading === 0) queueMicrotask(drop)
    reading = Date.now()
    left = 31
    return reading
  }
})()

/** @internal */
export const make = (
  settings: LocalSettings,
  clock: Clock.Clock,
  labels: ReadonlyArray<MetricLabel.MetricLabel>,
  serverTime: boolean,
  counted: boolean
) => {
  const slots = new Map<string, Slot>()
  let bytes = 0
  let counter = 0
  // Ticket bookkeeping: only keys with a read or write in flight are tracked, so it stays as small as the load.
  let epoch = 0
  let flushedAt = 0
  const inFlight = new Map<string, number>()
  const touchedAt = new Map<string, number>()
  // Until the backend's coherence says otherwise (a backend without any is coherent within this process).
  let coherent = true
  let coherence: Coherence | undefined
  // Effect's own clock is read coarsely; another (`TestClock`, one of the program's) exactly, at every read.
  const isLive = Object.getPrototypeOf(clock) === live
  const now = isLive ? coarseNow : () => clock.unsafeCurrentTimeMillis()
  // The backend's expiry runs on its own clock: a server's passes for real, whatever clock the program has. With
  // Effect's live clock both are the same, read once.
  const separate = serverTime && !isLive
  const remoteNow = serverTime ? coarseNow : now
  const flushLabels = new Map<FlushReason, ReadonlyArray<MetricLabel.MetricLabel>>()

  const remove = (slot: Slot) => {
    slots.delete(slot.full)
    slot.front.slots.delete(slot.key)
    bytes -= slot.weight
  }

  const within = () =>
    slots.size <= settings.capacity && (settings.maxBytes === undefined || bytes <= settings.maxBytes)

  const evict = () => {
    // Checked first: an iterator starts by stepping over the holes that deletions left at the front of the map.
    if (within()) return
    // Map order is insertion order, refreshed by `find` for entries that have aged: the first is the least recent.
    for (const slot of slots.values()) {
      if (within()) return
      remove(slot)
    }
  }

  // Recency is refreshed only for entries in the older half: a hot key moves rarely, and a hit stays cheap.
  const used = (slot: Slot) => {
    if (counter - slot.stamp > settings.capacity >> 1) {
      slots.delete(slot.full)
      slots.set(slot.full, slot)
      slot.stamp = ++counter
    }
  }

  const drop = (full: string) => {
    const slot = slots.get(full)
    if (slot !== undefined) remove(slot)
  }

  const find = (front: Front, key: string): Slot | undefined => {
    if (!coherent) return undefined
    const slot = front.slots.get(key)
    if (slot === undefined) return undefined
    // One clock read when both expiries run on the same clock (`expiresAt` then holds the earlier of the two).
    if (slot.expiresAt <= now() || (separate && slot.remoteExpiresAt <= remoteNow())) {
      remove(slot)
      return undefined
    }
    used(slot)
    return slot
  }

  // Tickets of interrupted calls are never ended: past this many open ones, every open ticket is treated as raced
  // (its reply is not kept), and the bookkeeping starts again empty.
  const maxOpen = 4 * settings.capacity + 1024

  const begin = (full: string, write = false): number => {
    if (inFlight.size >= maxOpen) {
      epoch++
      flushedAt = epoch
      inFlight.clear()
      touchedAt.clear()
    }
    const open = inFlight.get(full)
    if (write) {
      epoch++
      if (open !== undefined) touchedAt.set(full, epoch)
    }
    inFlight.set(full, (open ?? 0) + 1)
    return epoch
  }

  const end = (full: string, ticket: number): boolean => {
    const clean = coherent && flushedAt <= ticket && (touchedAt.get(full) ?? 0) <= ticket
    const left = (inFlight.get(full) ?? 1) - 1
    if (left <= 0) {
      inFlight.delete(full)
      touchedAt.delete(full)
    } else {
      inFlight.set(full, left)
    }
    return clean
  }

  const resolve = (slot: Slot, value: unknown) => {
    if (settings.freeze) deepFreeze(value)
    slot.value = value
    slot.hit = Exit.succeed(CacheResult.hit(value))
    slot.text = undefined
  }

  const keep: Tier["keep"] = (front, full, ticket, decoded, text, remoteTimeToLive) => {
    if (!end(full, ticket)) return false
    const previous = slots.get(full)
    const weight = weigh(text)
    if (settings.maxBytes !== undefined && weight > settings.maxBytes) {
      if (previous !== undefined) remove(previous)
      return true
    }
    const remoteExpiresAt =
      remoteTimeToLive === undefined || remoteTimeToLive < 0 ? Infinity : remoteNow() + remoteTimeToLive
    const expiresAt = separate ? now() + settings.timeToLive : Math.min(now() + settings.timeToLive, remoteExpiresAt)
    if (previous !== undefined && previous.front === front) {
      // The view's own slot, rewritten where it is (a key written again and again costs no map updates).
      previous.value = undefined
      previous.hit = pending
      previous.text = text
      previous.expiresAt = expiresAt
      previous.remoteExpiresAt = remoteExpiresAt
      bytes += weight - previous.weight
      previous.weight = weight
      if (decoded !== undefined) resolve(previous, decoded.value)
      used(previous)
      evict()
      return true
    }
    if (previous !== undefined) remove(previous)
    const key = full.slice(front.prefix.length)
    const slot: Slot = {
      front,
      key,
      full,
      value: undefined,
      hit: pending,
      text,
      expiresAt,
      remoteExpiresAt,
      weight,
      stamp: ++counter
    }
    if (decoded !== undefined) resolve(slot, decoded.value)
    slots.set(full, slot)
    front.slots.set(key, slot)
    bytes += weight
    evict()
    return true
  }

  const mark = (full: string) => {
    epoch++
    if (inFlight.has(full)) touchedAt.set(full, epoch)
  }

  const touch = (full: string) => {
    mark(full)
    drop(full)
  }

  const flush = (reason: FlushReason, once = true) => {
    epoch++
    flushedAt = epoch
    for (const slot of slots.values()) slot.front.slots.delete(slot.key)
    slots.clear()
    bytes = 0
    if (!once || !counted) return
    if (!flushLabels.has(reason)) flushLabels.set(reason, [...labels, MetricLabel.make("reason", reason)])
    metrics.localFlushes.unsafeUpdate(1, flushLabels.get(reason) ?? labels)
  }

  const receive = (event: Invalidation) => {
    switch (event._tag) {
      case "Keys": {
        for (const full of event.keys) touch(full)
        if (counted) metrics.localInvalidations.unsafeUpdate(event.keys.length, labels)
        return
      }
      case "Flush":
        return flush(event.reason)
      case "Lost":
        coherent = false
        return flush(event.reason)
      case "Restored":
        // Whatever changed while coherence was lost is unknown: start empty.
        flush(event.reason)
        coherent = true
        return
    }
  }

  const tier: Tier = {
    settings,
    now,
    remoteNow,
    front: (prefix) => ({ prefix, slots: new Map() }),
    find,
    begin,
    keep,
    resolve,
    end: (full, ticket) => {
      end(full, ticket)
    },
    touch,
    mark,
    drop,
    flush,
    announce: (keys) => {
      if (coherence !== undefined && (keys === "all" || keys.length > 0)) coherence.announce(keys)
    },
    connect: (made) => {
      coherence = made
    },
    size: () => ({ entries: slots.size, bytes }),
    receive
  }
  return tier
}

/** The encoded size of a value, as the tier weighs it. */
export const weigh = (encoded: string | Uint8Array): number =>
  typeof encoded === "string" ? encoded.length : encoded.byteLength
