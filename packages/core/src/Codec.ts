/**
 * How values become what a backend stores: text or bytes, as the codec decides. JSON by default, so what Cachet
 * writes is readable by any Redis client in any language; typed views (`cache.forSchema(schema)`) put a Schema in
 * front of the codec.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/codec.js"
import * as compression from "./internal/compression.js"

/**
 * A codec that stores text. It may throw from `encode` or `decode`; the cache turns the throw into
 * `CacheEncodeError` (nothing is written) or `CacheDecodeError`, keeping the thrown value as the `cause`. A value
 * stored as bytes (by a binary codec) reaches `decode` as its UTF-8 text, as Redis gives it to any text client.
 *
 * @since 0.5.0
 * @category models
 */
export interface TextCodec {
  readonly name: string
  readonly binary?: false | undefined
  readonly encode: (value: unknown) => string
  readonly decode: (text: string) => unknown
}

/**
 * A codec that stores bytes, as they are (Redis keeps them raw, no base64). It may throw as a `TextCodec` may. A
 * value stored as text (by a text codec) reaches `decode` as its UTF-8 bytes.
 *
 * @since 0.5.0
 * @category models
 */
export interface BinaryCodec {
  readonly name: string
  readonly binary: true
  readonly encode: (value: unknown) => Uint8Array
  readonly decode: (bytes: Uint8Array) => unknown
}

/**
 * Text or bytes: `binary: true` marks a codec that stores bytes.
 *
 * @since 0.1.0
 * @category models
 */
export type Codec = TextCodec | BinaryCodec

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
export const json: TextCodec = internal.json

/**
 * MessagePack (through `@effect/platform`'s MsgPack), stored as raw bytes: on Redis, `STRLEN` of the key is the
 * MessagePack length. It carries what JSON cannot: `Uint8Array`s, `Date`s, `undefined` and `NaN` (a `Map` comes
 * back as an object and a `Set` as an array, as MessagePack has no such types: use a typed view for those).
 * Counters (`increment`) need the JSON codec. Stored bytes are checked strictly before they are unpacked: anything
 * but one well-formed value of those kinds (truncated data, trailing bytes, the reserved byte 0xc1, an unknown
 * extension, a timestamp of a wrong length) fails the read with `CacheDecodeError`, so `getOrSet` overwrites it.
 * (Before 0.5 this codec stored base64 text: such values now fail the read the same way.)
 *
 * @since 0.1.0
 * @category codecs
 */
export const msgPack: BinaryCodec = internal.msgPack

/**
 * The options of `compressed`.
 *
 * @since 0.5.0
 * @category models
 */
export interface CompressedOptions {
  /** `"gzip"` (RFC 1952, what `gunzip` reads) or `"brotli"` (RFC 7932, after a three-byte marker: see `compressed`). */
  readonly algorithm: "gzip" | "brotli"
  /** Encoded values longer than this many bytes are compressed; shorter ones are stored as they are. Default 1024. */
  readonly threshold?: number | undefined
  /**
   * A stored value that decompresses to more than this many bytes fails the read with `CacheDecodeError` (code
   * `MALFORMED`) as soon as decompression passes it, so a small hostile value cannot make the process allocate
   * gigabytes. Default 64 MiB.
   */
  readonly maxDecodedBytes?: number | undefined
}

/**
 * `codec`, with its encoded values compressed by `node:zlib` when they are longer than `threshold` bytes (and only
 * when compression makes them shorter). Reads take compressed and plain values alike, in either algorithm, so
 * turning compression on, changing the threshold or the algorithm needs no migration: entries written before read
 * as they are.
 *
 * How a value is told apart: a gzip value begins with gzip's magic bytes `1f 8b`; a brotli value is a brotli stream
 * after the three bytes `c1 62 72` (brotli has no magic number of its own; without those three bytes, any brotli
 * decoder reads it). Anything else is a plain value of `codec`. No UTF-8 text (what a text codec stores) and no
 * MessagePack value begins with either, so the rule never mistakes a plain value of `Codec.json` or `Codec.msgPack`;
 * a binary codec of your own whose values may begin with those bytes should not be wrapped. A compressed value that
 * does not decompress (corrupt, truncated) fails the read with `CacheDecodeError`, which `getOrSet` heals by
 * overwriting it.
 *
 * The result is a binary codec. Options that are not valid (an unknown `algorithm`, a negative or fractional
 * `threshold`, a `maxDecodedBytes` that is not a positive integer) make a codec that every cache and view refuses:
 * `Cache.make` (and so a backend's layer) fails with `CacheInvalidInputError`, and a view from `forSchema` fails each
 * operation with it, writing nothing.
 *
 * @example
 * ```ts
 * import { Codec } from "@cachet/core"
 * import { MemoryCache } from "@cachet/memory"
 *
 * // Documents over 1 KB are stored gzipped; small values stay plain JSON.
 * const layer = MemoryCache.layer({ codec: Codec.compressed(Codec.json, { algorithm: "gzip" }) })
 * ```
 *
 * @since 0.5.0
 * @category codecs
 */
export const compressed: (codec: Codec, options: CompressedOptions) => BinaryCodec = compression.compressed

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
