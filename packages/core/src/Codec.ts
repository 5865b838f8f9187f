/**
 * How values become the strings a backend stores. JSON by default, so what Cachet writes is readable by any
 * Redis client in any language; typed views (`cache.forSchema(schema)`) put a Schema in front of the codec.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/codec.js"

/**
 * A codec may throw from `encode` or `decode`; the cache turns the throw into `CacheEncodeError` (nothing is
 * written) or `CacheDecodeError`, keeping the thrown value as the `cause`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Codec {
  readonly name: string
  readonly encode: (value: unknown) => string
  readonly decode: (text: string) => unknown
}

/**
 * Thrown by a codec for a value it cannot represent, as opposed to a bug.
 *
 * @since 0.1.0
 * @category errors
 */
export const CodecFailure: typeof internal.CodecFailure = internal.CodecFailure

/**
 * @since 0.1.0
 * @category errors
 */
export type CodecFailure = internal.CodecFailure

/**
 * JSON. A value is written only if it reads back equal, else refused with `CacheEncodeError` (code
 * `UNSUPPORTED_VALUE`) and nothing is written: plain objects, arrays, strings, finite numbers, booleans and `null`
 * pass; a `Date`, `Map`, `Set` or class instance, `NaN`, `±Infinity`, a function, a symbol, `undefined` (except as a
 * property value: such properties are dropped, as JSON does), an own `__proto__` property, a cycle and a BigInt
 * inside an object or array are refused (use a typed view: `Schema.Date`, `Schema.BigInt`, a `Schema.Class`).
 * Integers are exact: one too large for a JS number, such as a counter past 2^53, decodes to a `bigint`, and such a
 * `bigint` (at the top level, beyond ±(2^53 - 1)) is written as its digits, so a counter read back can be written
 * again; a smaller `bigint` is refused, as it would read back as a number. Decoding never takes a prototype from
 * stored data: `__proto__` keys are dropped.
 *
 * @since 0.1.0
 * @category codecs
 */
export const json: Codec = internal.json

/**
 * MessagePack (through `@effect/platform`'s MsgPack), stored as base64 text. It carries what JSON cannot:
 * `Uint8Array`s, `Date`s, `undefined` and `NaN` (a `Map` comes back as an object and a `Set` as an array, as
 * MessagePack has no such types: use a typed view for those). Counters (`increment`) need the JSON codec. Stored
 * bytes are checked strictly before they are unpacked: anything but one well-formed value of those kinds (truncated
 * data, trailing bytes, the reserved byte 0xc1, an unknown extension, a timestamp of a wrong length) fails the read
 * with `CacheDecodeError`, so `getOrSet` overwrites it.
 *
 * @since 0.1.0
 * @category codecs
 */
export const msgPack: Codec = internal.msgPack

/**
 * Thrown by a schema value codec when the schema refuses, so the cache can tell a mismatch from bad bytes.
 *
 * @since 0.1.0
 * @category errors
 */
export const SchemaFailure: typeof internal.SchemaFailure = internal.SchemaFailure

/**
 * @since 0.1.0
 * @category errors
 */
export type SchemaFailure = internal.SchemaFailure
