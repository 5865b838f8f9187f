/**
 * The type walks behind `Cache.JsonSafe`, `Cache.JsonEncoded` and their `Require` forms, documented there.
 */
import type { JsonEncoded, JsonSafe } from "../Cache.js"

// One walk over a type for both questions below; they differ only in what an `unknown` part (or `any`) answers.
export type JsonShape<A, Unknown extends "refuse" | "leave"> = unknown extends A
  ? Unknown extends "leave"
    ? A
    : never
  : A extends string | number | boolean | null
    ? A
    : A extends
          | bigint
          | symbol
          | undefined
          | Date
          | Uint8Array
          | ((...args: ReadonlyArray<never>) => unknown)
          | ReadonlyMap<unknown, unknown>
          | ReadonlySet<unknown>
      ? never
      : A extends object
        ? {
            readonly [K in keyof A]: undefined extends A[K]
              ? JsonShape<Exclude<A[K], undefined>, Unknown> | undefined
              : JsonShape<A[K], Unknown>
          }
        : never

export type RequireJsonEncoded<I> = [I] extends [JsonEncoded<I>]
  ? unknown
  : {
      readonly "this schema encodes to something JSON changes (a Date, a bigint, bytes): use a schema that encodes to JSON (Schema.Date, not Schema.DateFromSelf), or pass a codec: forSchema(schema, Codec.msgPack)": never
    }

export type RequireJsonSafe<A> = [A] extends [JsonSafe<A>]
  ? unknown
  : { readonly "without a schema, values must be JSON-safe: pass a schema": never }
