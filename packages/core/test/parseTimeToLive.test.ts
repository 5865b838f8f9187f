import { Cache } from "@cachet/core"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

describe("Cache.parseTimeToLive", () => {
  it.effect("accepts Effect's form and the compact form", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [string, number]> = [
        ["5 minutes", 300_000],
        ["1 second", 1_000],
        ["1.5 seconds", 1_500],
        ["250 millis", 250],
        ["2h30m", 9_000_000],
        ["1d", 86_400_000],
        ["1w2d", 777_600_000],
        ["30s", 30_000],
        ["250ms", 250],
        ["1m30s500ms", 90_500],
        ["0s", 0],
        [" 10s ", 10_000]
      ]
      for (const [text, millis] of cases) {
        const parsed = yield* Cache.parseTimeToLive(text)
        assert.strictEqual(Duration.toMillis(parsed), millis, text)
      }
      assert.isFalse(Duration.isFinite(yield* Cache.parseTimeToLive("infinity")))
    })
  )

  it.effect("is strict: anything else is a CacheInvalidInputError", () =>
    Effect.gen(function* () {
      for (const text of [
        "1hfoo",
        "-5s",
        "",
        " ",
        "5",
        "5 parsecs",
        "1h1h",
        "30m2h",
        "1.5h",
        "h",
        "5 minutes ago",
        "1e3ms"
      ]) {
        const error = yield* Effect.flip(Cache.parseTimeToLive(text))
        assert.strictEqual(error._tag, "CacheInvalidInputError", text)
        assert.strictEqual(error.code, "INVALID_DURATION", text)
      }
    })
  )
})
