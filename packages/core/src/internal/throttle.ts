/**
 * The fail-safe throttle of a view: after a failed lookup answered with a stale value, the key's stale value is
 * served without a lookup until the throttle ends. Per process, keyed by the stored key, bounded: an entry goes when
 * its throttle is found over, and the oldest go first past `limit`.
 */

/** @internal */
export interface Throttles {
  /** Whether `key` is throttled at `now` (epoch milliseconds). */
  readonly active: (key: string, now: number) => boolean
  /** Throttle `key` for `millis` from `now`; zero does nothing. */
  readonly start: (key: string, now: number, millis: number) => void
}

/** @internal */
export const make = (limit = 10_000): Throttles => {
  const until = new Map<string, number>()
  return {
    active: (key, now) => {
      const end = until.get(key)
      if (end === undefined) return false
      if (now < end) return true
      until.delete(key)
      return false
    },
    start: (key, now, millis) => {
      if (millis <= 0) return
      until.delete(key)
      if (until.size >= limit) {
        const oldest = until.keys().next()
        if (oldest.done !== true) until.delete(oldest.value)
      }
      until.set(key, now + millis)
    }
  }
}
