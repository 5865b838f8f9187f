import { Cache } from "@cachet/core"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

// These are compile-time checks: `tsc -b` fails if a schema-less cached value could come back changed by JSON.
interface User {
  readonly id: number
  readonly name: string
  readonly tags: ReadonlyArray<string>
  readonly nickname?: string | undefined
}

describe("JsonSafe", () => {
  it("accepts JSON-shaped types, interfaces included, and rejects Date, bigint, Map without a schema", () => {
    const byId = Cache.cached({ key: (id: number) => `user:${id}` })((id: number) =>
      Effect.succeed<User>({ id, name: "Ada", tags: [] })
    )
    const sync = Cache.cached({ key: (id: number) => `n:${id}` })((id: number) => id * 2)
    Cache.getOrSet("k", Effect.succeed({ nested: [{ a: 1, b: null }] }))

    // @ts-expect-error a Date would come back as a string
    Cache.cached({ key: () => "d" })(() => Effect.succeed(new Date()))
    // @ts-expect-error a bigint cannot be encoded as JSON
    Cache.getOrSet("k", Effect.succeed({ big: 1n }))
    // @ts-expect-error a Map would come back as {}
    Cache.getOrSet("k", Effect.succeed(new Map<string, number>()))

    const withSchema = Cache.cached({ key: () => "d", schema: Schema.Date })(() => Effect.succeed(new Date()))
    Cache.getOrSet("k", Effect.succeed({ big: 1n }), { schema: Schema.Struct({ big: Schema.BigInt }) })

    assert.isFunction(byId.invalidate)
    assert.isFunction(sync)
    assert.isFunction(withSchema)
  })
})
