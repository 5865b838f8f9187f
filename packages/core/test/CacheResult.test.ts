import { CacheResult } from "@cachet/core"
import { assert, describe, it } from "@effect/vitest"
import * as Equal from "effect/Equal"
import * as Option from "effect/Option"

describe("CacheResult", () => {
  it("hit and miss are Data values with structural equality", () => {
    assert.isTrue(Equal.equals(CacheResult.hit({ a: 1 }), CacheResult.hit({ a: 1 })) === false)
    assert.isTrue(Equal.equals(CacheResult.hit(1), CacheResult.hit(1)))
    assert.isTrue(Equal.equals(CacheResult.miss, CacheResult.miss))
    assert.isFalse(Equal.equals(CacheResult.hit(1), CacheResult.miss))
  })

  it("a cached null is a hit", () => {
    const result = CacheResult.hit(null)
    assert.isTrue(CacheResult.isHit(result))
    assert.isFalse(CacheResult.isMiss(result))
    assert.deepStrictEqual(CacheResult.toOption(result), Option.some(null))
  })

  it("match, getOrElse, toOption, map", () => {
    const cases = { onHit: (n: number) => `hit ${n}`, onMiss: () => "miss" }
    assert.strictEqual(CacheResult.match(CacheResult.hit(2), cases), "hit 2")
    assert.strictEqual(CacheResult.match(CacheResult.miss, cases), "miss")
    assert.strictEqual(CacheResult.match(cases)(CacheResult.hit(3)), "hit 3")
    assert.strictEqual(
      CacheResult.getOrElse(CacheResult.miss, () => 0),
      0
    )
    assert.strictEqual(
      CacheResult.getOrElse(CacheResult.hit(5), () => 0),
      5
    )
    assert.deepStrictEqual(CacheResult.toOption(CacheResult.miss), Option.none())
    assert.deepStrictEqual(
      CacheResult.map(CacheResult.hit(2), (n) => n * 2),
      CacheResult.hit(4)
    )
    assert.strictEqual(
      CacheResult.map(CacheResult.miss, (n: number) => n * 2),
      CacheResult.miss
    )
  })
})
