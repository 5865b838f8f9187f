/**
 * Redis's integer rules (`string2ll` and INCRBY's overflow check), in BigInt so that no value loses precision.
 */

/** The smallest signed 64-bit integer. */
export const MIN = -(2n ** 63n)
/** The largest signed 64-bit integer. */
export const MAX = 2n ** 63n - 1n

// string2ll accepts "0" or an optional "-" then a non-zero digit then digits, nothing else: no "+", no
// leading zeros, no "-0", no spaces. JS `$` without the `m` flag anchors at the very end, so "1\n" fails too.
const INTEGER = /^(?:0|-?[1-9][0-9]{0,18})$/

/** The stored string as a signed 64-bit integer, or `undefined` when Redis would refuse it. */
export const parse = (text: string): bigint | undefined => {
  if (!INTEGER.test(text)) return undefined
  const value = BigInt(text)
  return value < MIN || value > MAX ? undefined : value
}

/** Whether a bigint fits in a signed 64-bit integer. */
export const inRange = (value: bigint): boolean => value >= MIN && value <= MAX

/** `stored + by` by Redis's rules: the new value, or why Redis would refuse. */
export const add = (stored: string | undefined, by: bigint): bigint | "NOT_INTEGER" | "OVERFLOW" => {
  if (!inRange(by)) return "NOT_INTEGER"
  const current = stored === undefined ? 0n : parse(stored)
  if (current === undefined) return "NOT_INTEGER"
  const result = current + by
  return inRange(result) ? result : "OVERFLOW"
}
