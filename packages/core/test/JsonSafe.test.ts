import { Cache, Codec } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Request from "effect/Request"
import * as RequestResolver from "effect/RequestResolver"
import * as Schema from "effect/Schema"

// These are compile-time checks: `tsc -b` fails if a schema-less cached value could come back changed by JSON.
interface User {
  readonly id: number
  readonly name: string
  readonly tags: ReadonlyArray<string>
  readonly nickname?: string | undefined
}

class GetDate extends Request.TaggedClass("GetDate")<Date, never, {}> {}
class GetName extends Request.TaggedClass("GetName")<string, never, {}> {}

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
    // @ts-expect-error bytes would come back as an object of indices (the JSON codec refuses them)
    Cache.getOrSet("k", Effect.succeed(new Uint8Array(2)))
    // @ts-expect-error a batch of Dates would come back as strings
    Cache.getOrSetMany(["k"], () => Effect.succeed([new Date()]))
    const dates = RequestResolver.fromFunction((_: GetDate) => new Date())
    // @ts-expect-error a resolver's Dates would come back as strings
    Cache.resolver(dates, { key: () => "d" })
    // With a schema they round-trip; JSON-safe values need none.
    Cache.resolver(dates, { key: () => "d", schema: Schema.Date })
    Cache.resolver(
      RequestResolver.fromFunction((_: GetName) => "Ada"),
      { key: () => "n" }
    )

    const withSchema = Cache.cached({ key: () => "d", schema: Schema.Date })(() => Effect.succeed(new Date()))
    Cache.getOrSet("k", Effect.succeed({ big: 1n }), { schema: Schema.Struct({ big: Schema.BigInt }) })

    assert.isFunction(byId.invalidate)
    assert.isFunction(sync)
    assert.isFunction(withSchema)
  })

  it.effect("forSchema compiles only for schemas that encode to JSON, unless the view names a codec", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const fine = [
        cache.forSchema(Schema.Date),
        cache.forSchema(Schema.Struct({ at: Schema.Date, n: Schema.BigInt, tags: Schema.Array(Schema.String) })),
        cache.forSchema(Schema.Option(Schema.Number)),
        cache.forSchema(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
        cache.forSchema(Schema.Struct({ optional: Schema.optional(Schema.Number) }))
      ]
      // @ts-expect-error the encoded side is a Date, which JSON turns into a string
      cache.forSchema(Schema.Struct({ at: Schema.DateFromSelf }))
      // @ts-expect-error bytes are no JSON
      cache.forSchema(Schema.Uint8ArrayFromSelf)
      // @ts-expect-error a bigint is no JSON
      Cache.forSchema(Schema.BigIntFromSelf)
      // @ts-expect-error the option's schema encodes to a Date
      Cache.getOrSet("k", Effect.succeed(new Date()), { schema: Schema.DateFromSelf })
      // A binary codec carries them: name it.
      const binary = cache.forSchema(Schema.Struct({ at: Schema.DateFromSelf }), Codec.msgPack)
      yield* binary.set("at", { at: new Date(5) })
      const read = yield* binary.get("at")
      assert.isTrue(read._tag === "CacheHit" && read.value.at instanceof Date)
      // One view per schema and codec: the JSON view of the same schema is another view.
      const schema = Schema.Struct({ n: Schema.Number })
      assert.strictEqual(cache.forSchema(schema), cache.forSchema(schema, cache.codec))
      assert.notStrictEqual(cache.forSchema(schema), cache.forSchema(schema, Codec.msgPack))
      assert.strictEqual(fine.length, 5)
    }).pipe(Effect.provide(MemoryCache.layer()))
  )
})
