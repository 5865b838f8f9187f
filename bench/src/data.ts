/**
 * The data every peer sees: 10,000 keys, ~100-byte JSON values, and one fixed pseudo-random key order.
 */

/** mulberry32: small, fast, and the same sequence on every run and machine. */
export const prng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const KEY_COUNT = 10_000
/** Length of the shared key order; operation `i` uses key `order[i & ORDER_MASK]`. */
export const ORDER_LENGTH = 1 << 16
export const ORDER_MASK = ORDER_LENGTH - 1

export interface Value {
  readonly id: number
  readonly name: string
  readonly email: string
  readonly active: boolean
  readonly score: number
  readonly tags: ReadonlyArray<string>
}

/** A value of about 100 bytes as JSON. */
export const valueFor = (i: number): Value => ({
  id: i,
  name: `user-${i}`,
  email: `user${i}@example.com`,
  active: i % 2 === 0,
  score: Math.round(((i * 7919) % 10007) * 1000) / 1000,
  tags: ["bench", i % 3 === 0 ? "gold" : "silver"]
})

/** User keys, without any store's prefix. */
export const keys: ReadonlyArray<string> = Array.from(
  { length: KEY_COUNT },
  (_, i) => `k:${String(i).padStart(5, "0")}`
)

export const values: ReadonlyArray<Value> = keys.map((_, i) => valueFor(i))

/** The shared order, as key indices. */
export const order: Int32Array = (() => {
  const next = prng(0xcac4e7)
  const out = new Int32Array(ORDER_LENGTH)
  for (let i = 0; i < ORDER_LENGTH; i++) out[i] = Math.floor(next() * KEY_COUNT)
  return out
})()

/** The key of operation `i` in the shared order. */
export const keyAt = (i: number): string => keys[order[i & ORDER_MASK] ?? 0] ?? ""

/** The value written by operation `i` of a set workload. */
export const valueAt = (i: number): Value => values[order[i & ORDER_MASK] ?? 0] ?? valueFor(0)

/** The shared order with a prefix of the peer's own baked in, so that no peer pays for concatenation in its loop. */
export const prefixedKeys = (prefix: string): ReadonlyArray<string> => keys.map((key) => prefix + key)

/** Batches of 100 keys for getMany: batch `i` is 100 consecutive keys of the shared order. */
export const batchOf = (prefix: string, i: number, size: number): Array<string> => {
  const out = new Array<string>(size)
  const start = (i * size) & ORDER_MASK
  for (let j = 0; j < size; j++) out[j] = prefix + (keys[order[(start + j) & ORDER_MASK] ?? 0] ?? "")
  return out
}

export const valueBytes = JSON.stringify(values[0]).length
