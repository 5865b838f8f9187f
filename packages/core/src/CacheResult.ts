/**
 * The answer of every read: a hit carrying the value, or a miss. A cached `null` is a hit, so negative caching
 * needs no special value.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import { dual } from "effect/Function"
import * as Option from "effect/Option"

/**
 * @since 0.1.0
 * @category models
 */
export type CacheResult<A> = CacheHit<A> | CacheMiss

/**
 * @since 0.1.0
 * @category models
 */
export interface CacheHit<A> {
  readonly _tag: "CacheHit"
  readonly value: A
}

/**
 * @since 0.1.0
 * @category models
 */
export interface CacheMiss {
  readonly _tag: "CacheMiss"
}

interface CacheResultDefinition extends Data.TaggedEnum.WithGenerics<1> {
  readonly taggedEnum: CacheResult<this["A"]>
}

const Tagged = Data.taggedEnum<CacheResultDefinition>()

// `Tagged` is a Proxy that builds a constructor on every property read: read it once, not on every hit.
const makeHit = Tagged.CacheHit

/**
 * @since 0.1.0
 * @category constructors
 */
export const hit = <A>(value: A): CacheResult<A> => makeHit({ value })

/**
 * @since 0.1.0
 * @category constructors
 */
export const miss: CacheResult<never> = Tagged.CacheMiss()

/**
 * @since 0.1.0
 * @category refinements
 */
export const isHit = <A>(self: CacheResult<A>): self is CacheHit<A> => self._tag === "CacheHit"

/**
 * @since 0.1.0
 * @category refinements
 */
export const isMiss = <A>(self: CacheResult<A>): self is CacheMiss => self._tag === "CacheMiss"

/**
 * @example
 * ```ts
 * import { CacheResult } from "@cachet/core"
 *
 * const text = CacheResult.match(CacheResult.hit(1), { onHit: (n) => `hit ${n}`, onMiss: () => "miss" })
 * ```
 *
 * @since 0.1.0
 * @category pattern matching
 */
export const match: {
  <A, B, C = B>(cases: { readonly onHit: (value: A) => B; readonly onMiss: () => C }): (self: CacheResult<A>) => B | C
  <A, B, C = B>(self: CacheResult<A>, cases: { readonly onHit: (value: A) => B; readonly onMiss: () => C }): B | C
} = dual(
  2,
  <A, B, C = B>(self: CacheResult<A>, cases: { readonly onHit: (value: A) => B; readonly onMiss: () => C }): B | C =>
    self._tag === "CacheHit" ? cases.onHit(self.value) : cases.onMiss()
)

/**
 * @since 0.1.0
 * @category getters
 */
export const getOrElse: {
  <B>(onMiss: () => B): <A>(self: CacheResult<A>) => A | B
  <A, B>(self: CacheResult<A>, onMiss: () => B): A | B
} = dual(2, <A, B>(self: CacheResult<A>, onMiss: () => B): A | B => (self._tag === "CacheHit" ? self.value : onMiss()))

/**
 * @since 0.1.0
 * @category conversions
 */
export const toOption = <A>(self: CacheResult<A>): Option.Option<A> =>
  self._tag === "CacheHit" ? Option.some(self.value) : Option.none()

/**
 * @since 0.1.0
 * @category mapping
 */
export const map: {
  <A, B>(f: (value: A) => B): (self: CacheResult<A>) => CacheResult<B>
  <A, B>(self: CacheResult<A>, f: (value: A) => B): CacheResult<B>
} = dual(
  2,
  <A, B>(self: CacheResult<A>, f: (value: A) => B): CacheResult<B> =>
    self._tag === "CacheHit" ? hit(f(self.value)) : miss
)
