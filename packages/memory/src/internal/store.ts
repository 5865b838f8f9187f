/**
 * The in-process store: a `Map` for O(1) lookup, an intrusive doubly linked ring for LRU order, and a second
 * ring of the entries that expire, which a cursor walks a few steps per write to remove expired entries that
 * nobody reads again (Redis's active expiry, without a background fiber).
 */
import { isBookkeeping } from "@cachet/core/Backend"
import type * as Clock from "effect/Clock"
import * as Glob from "./glob.js"
import * as Integer from "./integer.js"
import { TagIndex } from "./tagIndex.js"

/** No expiry. */
const NEVER = Number.POSITIVE_INFINITY

/**
 * How many expiring entries each written entry lets the sweep examine. Above one, the cursor outruns the
 * entries being added, so expired entries that are never read are removed within a bounded number of writes.
 */
export const SWEEP_STEPS = 4

/** Keys per `scan` batch, like a generous SCAN COUNT. */
export const SCAN_BATCH = 1000

/** A stored value: text, or bytes (a copy of its own, never shared with the codec that wrote it or a reader). */
type Value = string | Uint8Array

class Node {
  key: string
  value: Value
  /** Epoch milliseconds after which the entry is gone (it lives through this very millisecond, as in Redis, whose PTTL then answers 0); `NEVER` when it does not expire. */
  expireAt: number
  weight: number
  /** LRU ring: `next` goes towards the least recently used. Self-linked while out of the ring. */
  prev: Node = this
  next: Node = this
  /** Ring of expiring entries, in the order they became expiring. Self-linked while out of the ring. */
  vprev: Node = this
  vnext: Node = this
  /**
   * Tag bookkeeping (a tag's index or epoch): never in the LRU ring, so never evicted, and outside `capacity` and
   * `maxBytes`; it is bounded by the sweeps and expiries of the tag primitives instead.
   */
  pinned = false
  /**
   * The core's other bookkeeping (a key with U+0000: a lock, a tagged entry's record): in the LRU ring and weighed
   * in `maxBytes` like an entry, but not one of the `capacity` entries, so tagging an entry takes no entry's place.
   */
  bookkeeping = false
  /** A tag index (a sorted set of members scored by their expiry, `NEVER` for none). */
  members: TagIndex | undefined = undefined

  constructor(key: string, value: Value, expireAt: number, weight: number) {
    this.key = key
    this.value = value
    this.expireAt = expireAt
    this.weight = weight
  }
}

/**
 * The same text as one flat string. V8 keeps a concatenation (a prefixed key) and a long `JSON.stringify` result as
 * a tree of parts, which weighs more than the text for as long as it lives; reading the whole string as a number
 * makes V8 flatten it in place (the number is of no use). Entries live long: their strings are stored flat.
 */
const flat = (text: string): string => {
  Number(text)
  return text
}

/** JavaScript keeps strings as UTF-16: two bytes per code unit is what an entry's strings weigh; bytes weigh bytes. */
export const weigh = (key: string, value: Value): number =>
  2 * key.length + (typeof value === "string" ? 2 * value.length : value.byteLength)

/**
 * Bytes are copied on their way in and out, as a server's are: the codec may hand over a view of a buffer it reuses
 * (msgpackr does), and a decoder may keep views of what it reads in the value it returns (msgpackr's `bin`), which a
 * caller could then change. The copy also holds exactly the value's bytes, not a larger buffer behind a view.
 */
const copy = (value: Value): Value => (typeof value === "string" ? value : new Uint8Array(value))

/** A written value as it is kept: text flat, bytes copied. */
const kept = (value: Value): Value => (typeof value === "string" ? flat(value) : new Uint8Array(value))

/**
 * A stored value as Redis's integer parser sees it, byte for byte: bytes beyond ASCII are never digits, and no
 * integer takes more than 20 bytes.
 */
const integerText = (value: Value): string =>
  typeof value === "string" ? value : value.length > 20 ? "" : String.fromCharCode(...value)

/** Whether a stored value is `expected`, compared as Redis compares: as UTF-8 bytes. */
const equals = (value: Value, expected: Value): boolean =>
  typeof value === "string" && typeof expected === "string"
    ? value === expected
    : Buffer.from(typeof value === "string" ? Buffer.from(value) : value).equals(
        typeof expected === "string" ? Buffer.from(expected) : expected
      )

/** Limits of a store; `Infinity` for none. */
export interface Limits {
  readonly capacity: number
  readonly maxBytes: number
}

/** What `getWithTimeToLive` answers. */
export interface ValueWithTimeToLive {
  readonly value: Value
  readonly timeToLive: number
}

export class Store {
  private readonly map = new Map<string, Node>()
  /** Sentinel of the LRU ring: `lru.next` is the most recently used entry, `lru.prev` the least. */
  private readonly lru = new Node("", "", NEVER, 0)
  /** Sentinel of the ring of expiring entries. */
  private readonly volatile = new Node("", "", NEVER, 0)
  private cursor: Node = this.volatile
  private volatileCount = 0
  private pinnedCount = 0
  private bookkeepingCount = 0
  private totalBytes = 0
  /** Recency is only worth tracking when something can be evicted. */
  private readonly bounded: boolean
  private readonly capacity: number
  private readonly maxBytes: number
  private readonly clock: Clock.Clock
  /** Told the key of each entry the store lets go of to stay within its limits (a local tier drops it too). */
  private readonly evictionListeners = new Set<(key: string) => void>()

  constructor(clock: Clock.Clock, limits: Limits) {
    this.clock = clock
    this.capacity = limits.capacity
    this.maxBytes = limits.maxBytes
    this.bounded = Number.isFinite(limits.capacity) || Number.isFinite(limits.maxBytes)
  }

  /** Entries held, live or expired but not yet removed. */
  get size(): number {
    return this.map.size
  }

  /** Call `listener` with the key of every entry evicted from now on; answers how to stop. */
  onEviction(listener: (key: string) => void): () => void {
    this.evictionListeners.add(listener)
    return () => this.evictionListeners.delete(listener)
  }

  private evicted(node: Node): void {
    this.remove(node)
    this.tellEvicted(node.key)
  }

  private tellEvicted(key: string): void {
    for (const listener of this.evictionListeners) listener(key)
  }

  /** The approximate bytes held (see `weigh`). */
  get bytes(): number {
    return this.totalBytes
  }

  private now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  /** The live entry under `key`, removing it when it has expired. */
  private live(key: string, now: number): Node | undefined {
    const node = this.map.get(key)
    if (node === undefined) return undefined
    if (node.expireAt < now) {
      this.remove(node)
      return undefined
    }
    return node
  }

  // Reads avoid the clock for entries that never expire: most hits in a cache without time-to-live.
  private read(key: string): Node | undefined {
    const node = this.map.get(key)
    if (node === undefined) return undefined
    if (node.expireAt !== NEVER && node.expireAt < this.now()) {
      this.remove(node)
      return undefined
    }
    if (this.bounded) this.touch(node)
    return node
  }

  private touch(node: Node): void {
    const lru = this.lru
    if (lru.next === node) return
    node.prev.next = node.next
    node.next.prev = node.prev
    node.next = lru.next
    node.prev = lru
    lru.next.prev = node
    lru.next = node
  }

  private remove(node: Node): void {
    this.map.delete(node.key)
    if (node.pinned) this.pinnedCount--
    else if (node.bookkeeping) this.bookkeepingCount--
    node.prev.next = node.next
    node.next.prev = node.prev
    node.prev = node
    node.next = node
    if (node.expireAt !== NEVER) this.unlinkVolatile(node)
    this.totalBytes -= node.weight
  }

  private unlinkVolatile(node: Node): void {
    if (this.cursor === node) this.cursor = node.vnext
    node.vprev.vnext = node.vnext
    node.vnext.vprev = node.vprev
    node.vprev = node
    node.vnext = node
    this.volatileCount--
  }

  private setExpiry(node: Node, expireAt: number): void {
    if (expireAt === NEVER) {
      if (node.expireAt !== NEVER) this.unlinkVolatile(node)
    } else if (node.expireAt === NEVER) {
      const tail = this.volatile.vprev
      node.vprev = tail
      node.vnext = this.volatile
      tail.vnext = node
      this.volatile.vprev = node
      this.volatileCount++
    }
    node.expireAt = expireAt
  }

  /** Write `value` under `key`; the entry becomes the most recently used. */
  private write(name: string, written: Value, expireAt: number): void {
    const key = flat(name)
    const value = kept(written)
    const weight = weigh(key, value)
    const existing = this.map.get(key)
    if (weight > this.maxBytes) {
      // Evicting everything else could still not make room: the write happens and is evicted at once.
      if (existing !== undefined) this.remove(existing)
      this.tellEvicted(key)
      return
    }
    let node = existing
    if (node === undefined) {
      node = new Node(key, value, NEVER, weight)
      if (isBookkeeping(key)) {
        node.bookkeeping = true
        this.bookkeepingCount++
      }
      this.map.set(key, node)
      if (this.bounded) this.touch(node)
    } else {
      this.totalBytes -= node.weight
      node.value = value
      node.weight = weight
      if (this.bounded) this.touch(node)
    }
    this.totalBytes += weight
    this.setExpiry(node, expireAt)
    if (this.bounded) this.evict()
  }

  private evict(): void {
    // The entry just written is the most recent and fits on its own, so it is never the victim.
    while (
      this.map.size - this.pinnedCount - this.bookkeepingCount > this.capacity ||
      this.totalBytes > this.maxBytes
    ) {
      const victim = this.lru.prev
      if (victim === this.lru) return
      this.evicted(victim)
    }
  }

  /** Examine up to `steps` expiring entries from the cursor, removing those that have expired. */
  private sweep(now: number, steps: number): void {
    let node = this.cursor
    let left = steps
    while (left > 0 && this.volatileCount > 0) {
      if (node === this.volatile) {
        node = node.vnext
        continue
      }
      const next = node.vnext
      if (node.expireAt < now) this.remove(node)
      node = next
      left--
    }
    this.cursor = node
  }

  get(key: string): Value | undefined {
    const node = this.read(key)
    return node === undefined ? undefined : copy(node.value)
  }

  getWithTimeToLive(key: string): ValueWithTimeToLive | undefined {
    const node = this.map.get(key)
    if (node === undefined) return undefined
    if (node.expireAt === NEVER) {
      if (this.bounded) this.touch(node)
      return { value: copy(node.value), timeToLive: -1 }
    }
    // One clock reading decides both liveness and the remaining time, so a live entry never reports 0.
    const now = this.now()
    if (node.expireAt < now) {
      this.remove(node)
      return undefined
    }
    if (this.bounded) this.touch(node)
    return { value: copy(node.value), timeToLive: node.expireAt - now }
  }

  getMany(keys: ReadonlyArray<string>): Array<Value | undefined> {
    const out = new Array<Value | undefined>(keys.length)
    for (let i = 0; i < keys.length; i++) {
      const node = this.read(keys[i] ?? "")
      out[i] = node === undefined ? undefined : copy(node.value)
    }
    return out
  }

  /** SET [PX]: `timeToLive` in whole milliseconds ≥ 1, or `undefined` to clear any expiry. */
  set(key: string, value: Value, timeToLive: number | undefined): void {
    if (timeToLive === undefined && this.volatileCount === 0) {
      this.write(key, value, NEVER)
      return
    }
    const now = this.now()
    this.write(key, value, timeToLive === undefined ? NEVER : now + timeToLive)
    this.sweep(now, SWEEP_STEPS)
  }

  /** SET KEEPTTL: the entry keeps its expiry; an absent (or expired) key is written without one. */
  setKeepingTimeToLive(key: string, value: Value): void {
    const now = this.now()
    const node = this.live(key, now)
    this.write(key, value, node === undefined ? NEVER : node.expireAt)
    this.sweep(now, SWEEP_STEPS)
  }

  /**
   * GETEX: the value, the entry's expiry reset to `timeToLive` milliseconds from now (`undefined`: PERSIST, `0`: the
   * entry deleted after the read). An absent key stays absent.
   */
  getAndExpire(key: string, timeToLive: number | undefined): Value | undefined {
    const now = this.now()
    const node = this.live(key, now)
    if (node === undefined) return undefined
    if (timeToLive === 0) this.remove(node)
    else {
      if (this.bounded) this.touch(node)
      this.setExpiry(node, timeToLive === undefined ? NEVER : now + timeToLive)
    }
    this.sweep(now, SWEEP_STEPS)
    return node.value
  }

  setMany(
    entries: ReadonlyArray<{ readonly key: string; readonly value: Value; readonly timeToLive: number | undefined }>
  ): void {
    const now = this.now()
    for (const entry of entries) {
      this.write(entry.key, entry.value, entry.timeToLive === undefined ? NEVER : now + entry.timeToLive)
    }
    this.sweep(now, SWEEP_STEPS * entries.length)
  }

  /** SET NX [PX]: whether the value was written. */
  add(key: string, value: Value, timeToLive: number | undefined): boolean {
    const now = this.now()
    if (this.live(key, now) !== undefined) return false
    this.write(key, value, timeToLive === undefined ? NEVER : now + timeToLive)
    this.sweep(now, SWEEP_STEPS)
    return true
  }

  /** Compare-and-delete: whether the key was live with exactly `expected` and is now gone. */
  deleteIfEquals(key: string, expected: Value): boolean {
    const node = this.live(key, this.now())
    if (node === undefined || !equals(node.value, expected)) return false
    this.remove(node)
    return true
  }

  /** UNLINK: how many of the keys were live. */
  delete(keys: ReadonlyArray<string>): number {
    const now = this.now()
    let count = 0
    for (const key of keys) {
      const node = this.live(key, now)
      if (node !== undefined) {
        this.remove(node)
        count++
      }
    }
    return count
  }

  has(key: string): boolean {
    return this.live(key, this.now()) !== undefined
  }

  /** PTTL: `-2` absent, `-1` no expiry, otherwise the remaining milliseconds (always ≥ 1). */
  timeToLive(key: string): number {
    const now = this.now()
    const node = this.live(key, now)
    if (node === undefined) return -2
    return node.expireAt === NEVER ? -1 : node.expireAt - now
  }

  /** PEXPIRE: whether the key exists. A time-to-live ≤ 0 deletes it, as in Redis. */
  expire(key: string, timeToLive: number): boolean {
    const now = this.now()
    const node = this.live(key, now)
    if (node === undefined) return false
    if (timeToLive <= 0) this.remove(node)
    else this.setExpiry(node, now + timeToLive)
    this.sweep(now, SWEEP_STEPS)
    return true
  }

  /** PERSIST: whether an expiry was removed. */
  persist(key: string): boolean {
    const node = this.live(key, this.now())
    if (node === undefined || node.expireAt === NEVER) return false
    this.setExpiry(node, NEVER)
    return true
  }

  /** INCRBY: the new value, or why Redis would refuse. The entry keeps its time-to-live. */
  increment(key: string, by: bigint): bigint | "NOT_INTEGER" | "OVERFLOW" {
    const now = this.now()
    const node = this.live(key, now)
    const result = Integer.add(node === undefined ? undefined : integerText(node.value), by)
    if (typeof result === "bigint") {
      this.write(key, result.toString(), node === undefined ? NEVER : node.expireAt)
      this.sweep(now, SWEEP_STEPS)
    }
    return result
  }

  /** The live pinned node under `key`, created empty (expiring never) if absent. */
  private pinnedNode(key: string, now: number): Node {
    const found = this.live(key, now)
    if (found !== undefined) return found
    const node = new Node(flat(key), "", NEVER, 0)
    node.pinned = true
    this.pinnedCount++
    this.map.set(node.key, node)
    return node
  }

  /**
   * Tag index and epoch, atomically (see `Backend.tagAdd`): members past their expiry go, `members` join with theirs,
   * the index expires with its last member; the epoch's value.
   */
  tagAdd(
    index: string,
    epoch: string,
    members: ReadonlyArray<{ readonly key: string; readonly timeToLive: number | undefined }>
  ): string | undefined | "WRONG_TYPE" {
    const now = this.now()
    const existing = this.live(index, now)
    if (existing !== undefined && existing.members === undefined) return "WRONG_TYPE"
    if (existing !== undefined || members.length > 0) {
      const node = existing ?? this.pinnedNode(index, now)
      const set = node.members ?? new TagIndex()
      node.members = set
      set.sweep(now)
      for (const member of members)
        set.add(member.key, member.timeToLive === undefined ? NEVER : now + member.timeToLive)
      if (set.size === 0) this.remove(node)
      else this.setExpiry(node, set.last)
    }
    this.sweep(now, SWEEP_STEPS)
    const token = this.live(epoch, now)
    if (token === undefined) return undefined
    return typeof token.value === "string" ? token.value : Buffer.from(token.value).toString("utf8")
  }

  /** Take a tag's index, atomically (see `Backend.tagTake`): its live members, the index gone, the epoch `token`. */
  tagTake(index: string, epoch: string, token: string, epochTimeToLive: number): ReadonlyArray<string> | "WRONG_TYPE" {
    const now = this.now()
    const existing = this.live(index, now)
    if (existing !== undefined && existing.members === undefined) return "WRONG_TYPE"
    const taken = existing?.members === undefined ? [] : existing.members.live(now)
    if (existing !== undefined) this.remove(existing)
    const stamp = this.pinnedNode(epoch, now)
    stamp.value = flat(token)
    this.setExpiry(stamp, now + epochTimeToLive)
    this.sweep(now, SWEEP_STEPS)
    return taken
  }

  /**
   * The live keys matching `pattern`, in batches, from a snapshot of the keys taken on the first pull.
   * Keys deleted before their batch is built are left out, as SCAN leaves out keys deleted before it reaches
   * them; deleting while consuming is safe.
   */
  scanner(pattern: string): () => ReadonlyArray<string> | undefined {
    // SCAN's own short-cut: `*` skips matching, so it also returns the empty key.
    const all = pattern === "*"
    const glob = Glob.compile(pattern)
    let snapshot: Array<string> | undefined
    let index = 0
    return () => {
      if (snapshot === undefined) snapshot = Array.from(this.map.keys())
      const keys = snapshot
      const now = this.now()
      const batch: Array<string> = []
      while (index < keys.length && batch.length < SCAN_BATCH) {
        const key = keys[index++] ?? ""
        if ((all || Glob.matches(glob, key)) && this.live(key, now) !== undefined) batch.push(key)
      }
      if (batch.length === 0) {
        snapshot = []
        return undefined
      }
      return batch
    }
  }
}
