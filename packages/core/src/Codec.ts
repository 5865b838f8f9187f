/**
 * How values become the strings a backend stores. JSON by default, so what Cachet writes is readable by any
 * Redis client in any language; typed views (`cache.forSchema(schema)`) put a Schema in front of the codec.
 *
 * @since 0.1.0
 */
import * as MsgPack from "@effect/platform/MsgPack"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

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
export class CodecFailure extends Error {
  /** @since 0.1.0 */
  readonly _tag = "CodecFailure"
}

const integerText = /^-?[1-9]\d{15,}$/

// JSON.stringify would write NaN and ±Infinity as null, and undefined, functions and symbols inside arrays as
// null: values that come back different. Refuse them instead, so that nothing silently changes in the cache.
function refuseLossy(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new CodecFailure(`${value} has no JSON representation`)
  }
  if (Array.isArray(this) && (value === undefined || typeof value === "function" || typeof value === "symbol")) {
    throw new CodecFailure(`an array element of type ${typeof value} has no JSON representation`)
  }
  return value
}

/**
 * JSON. Values that JSON would silently change are refused: `undefined`, a function or a symbol at the top level
 * or in an array, `NaN` and `±Infinity`; BigInt and cycles too (use a typed view with `Schema.BigInt`).
 * Properties whose value is `undefined` are dropped, as JSON does. An integer too large for a JS number, such as a counter
 * past 2^53, decodes to a `bigint` rather than losing precision.
 *
 * @since 0.1.0
 * @category codecs
 */
export const json: Codec = {
  name: "json",
  encode: (value) => {
    const text = JSON.stringify(value)
    if (typeof text !== "string") throw new CodecFailure(`${typeof value} has no JSON representation`)
    // Every lossy case writes a null: only then is the slower checking pass needed.
    if (text.includes("null")) JSON.stringify(value, refuseLossy)
    return text
  },
  decode: (text) => {
    if (text.length >= 16 && integerText.test(text)) {
      const n = Number(text)
      if (!Number.isSafeInteger(n)) return BigInt(text)
    }
    return JSON.parse(text)
  }
}

const msgPackBytes = MsgPack.schema(Schema.Unknown)
const packBytes = Schema.encodeEither(msgPackBytes)
const unpackBytes = Schema.decodeEither(msgPackBytes)

/**
 * MessagePack (through `@effect/platform`'s MsgPack), stored as base64 text. It carries what JSON cannot:
 * `Uint8Array`s, `Date`s, `undefined` and `NaN` (a `Map` comes back as an object and a `Set` as an array, as
 * MessagePack has no such types: use a typed view for those). Counters (`increment`) need the JSON codec.
 *
 * @since 0.1.0
 * @category codecs
 */
export const msgPack: Codec = {
  name: "msgpack",
  encode: (value) => {
    const packed = packBytes(value)
    if (Either.isLeft(packed)) throw new CodecFailure("the value cannot be packed as MessagePack")
    return Encoding.encodeBase64(packed.right)
  },
  decode: (text) => {
    const bytes = Encoding.decodeBase64(text)
    if (Either.isLeft(bytes)) throw new CodecFailure("the stored value is not base64")
    const value = unpackBytes(bytes.right)
    if (Either.isLeft(value)) throw new CodecFailure("the stored value is not MessagePack")
    return value.right
  }
}

/**
 * A value codec: the Schema's encoded form through the text codec, and back through the Schema.
 *
 * @internal
 */
export interface ValueCodec<A> {
  readonly encode: (value: A) => string
  readonly decode: (text: string) => A
}

/**
 * Thrown by a schema value codec when the schema refuses, so the cache can tell a mismatch from bad bytes.
 *
 * @since 0.1.0
 * @category errors
 */
export class SchemaFailure extends Error {
  /** @since 0.1.0 */
  readonly _tag = "SchemaFailure"
  constructor(readonly issue: ParseResult.ParseError) {
    super("schema mismatch")
  }
}

/** @internal */
export const schemaValue = <A, I>(codec: Codec, schema: Schema.Schema<A, I, never>): ValueCodec<A> => {
  const encode = Schema.encodeEither(schema)
  const decode = Schema.decodeUnknownEither(schema)
  return {
    encode: (value) => {
      const encoded = encode(value)
      if (Either.isLeft(encoded)) throw new SchemaFailure(encoded.left)
      return codec.encode(encoded.right)
    },
    decode: (text) => {
      const decoded = decode(codec.decode(text))
      if (Either.isLeft(decoded)) throw new SchemaFailure(decoded.left)
      return decoded.right
    }
  }
}
