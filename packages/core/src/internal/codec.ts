/**
 * The codecs' implementations: JSON that refuses what it would change, strictly checked MessagePack, and a schema in
 * front of a codec. The public names and their documentation are in `Codec.ts`.
 */
import * as MsgPack from "@effect/platform/MsgPack"
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { BinaryCodec, Codec, TextCodec } from "../Codec.js"
import * as Wire from "./wire.js"

/** @internal */
export class CodecFailure extends Error {
  readonly _tag = "CodecFailure"
}

const integerText = /^-?[1-9]\d{15,}$/

function unfaithful(what: string): never {
  throw new CodecFailure(`${what} has no faithful JSON representation`)
}

// JSON.stringify writes some values that JSON.parse gives back changed: NaN and ±Infinity, and undefined, functions
// and symbols in arrays become null; a function or symbol property disappears; a Date becomes a string through its
// toJSON; a Map, a Set or a class instance becomes a plain object (often `{}`). One walk, after JSON.stringify has
// refused cycles and BigInts, checks for them. Only plain objects and arrays pass, so no toJSON of a prototype can
// have run; an own toJSON is a function property, refused too. An own `__proto__` key is refused because the decoder
// drops it.
function faithful(value: unknown): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return
    case "number":
      if (!Number.isFinite(value)) unfaithful(String(value))
      return
    case "object": {
      if (value === null) return
      const prototype: unknown = Object.getPrototypeOf(value)
      if (prototype === Array.prototype) {
        const array = value as ReadonlyArray<unknown>
        for (let i = 0; i < array.length; i++) {
          const element = array[i]
          if (element === undefined) unfaithful("an undefined array element")
          faithful(element)
        }
        return
      }
      if (prototype !== Object.prototype && prototype !== null) {
        unfaithful("an object that is not a plain object or array (a Date, Map, Set or class instance)")
      }
      const record = value as { readonly [key: string]: unknown }
      for (const key in record) {
        const property = record[key]
        // JSON drops a property whose value is undefined, and reading it gives undefined again.
        if (property === undefined) continue
        if (key === "__proto__") unfaithful("a __proto__ property")
        faithful(property)
      }
      return
    }
    default:
      unfaithful(`a nested ${typeof value}`)
  }
}

const largestSafe = BigInt(Number.MAX_SAFE_INTEGER)

// The decoder reads an integer past 2^53 as a bigint, so such a bigint round-trips as its digits (a counter read back
// can be written again). One within the safe range would come back as a number: refused, as nothing may change type.
const bigIntText = (value: bigint): string => {
  if (value <= largestSafe && value >= -largestSafe) unfaithful("a bigint within the safe integer range")
  return value.toString()
}

// JSON.parse makes `"__proto__"` an own property, harmless until something copies it by assignment (Schema.Record
// decoding does), which makes the stored object a prototype. The reviver drops such keys; it costs, so it runs only
// when the key can be in the text: spelled out, or written with escapes.
const dropPrototypeKeys = (key: string, value: unknown): unknown => (key === "__proto__" ? undefined : value)

/** @internal */
export const json: TextCodec = {
  name: "json",
  encode: (value) => {
    if (typeof value === "bigint") return bigIntText(value)
    const text = JSON.stringify(value)
    if (typeof text !== "string") {
      throw new CodecFailure(
        value === undefined
          ? "undefined has no JSON representation: store null, or use Codec.msgPack"
          : `${typeof value} has no JSON representation`
      )
    }
    faithful(value)
    return text
  },
  decode: (text) => {
    if (text.length >= 16 && integerText.test(text)) {
      const n = Number(text)
      if (!Number.isSafeInteger(n)) return BigInt(text)
    }
    return text.includes("__proto__") || text.includes("\\u") ? JSON.parse(text, dropPrototypeKeys) : JSON.parse(text)
  }
}

const msgPackBytes = MsgPack.schema(Schema.Unknown)
const packBytes = Schema.encodeEither(msgPackBytes)
const unpackBytes = Schema.decodeEither(msgPackBytes)

function malformed(what: string): never {
  throw new CodecFailure(`the stored value is not MessagePack: ${what}`)
}

// The largest distance of a valid Date from the epoch, in milliseconds.
const dateRange = 8.64e15

/**
 * Checks that `bytes` hold exactly one MessagePack value of the kinds this codec writes, in one pass and before
 * msgpackr allocates anything: msgpackr itself reads 0xc1 as a value, a timestamp of any length as a (maybe
 * invalid) Date, and several extension types of its own (records, sets, errors, typed arrays) that would let
 * foreign bytes choose what is built. Every declared length is checked against the bytes left, a count of values
 * too (each takes at least a byte), so a small input cannot make the decoder allocate a large one.
 */
const checkMessagePack = (bytes: Uint8Array): void => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const end = bytes.length
  let position = 0
  // Values still to read: containers add their elements (a map two per entry), so no recursion is needed.
  let pending = 1
  const take = (size: number): number => {
    if (size > end - position) malformed("a length past the end of the data")
    const start = position
    position += size
    return start
  }
  const values = (count: number): void => {
    if (count > end - position - pending) malformed("a length past the end of the data")
    pending += count
  }
  const text = (length: number): void => {
    const start = take(length)
    if (!isUtf8(bytes, start, position)) malformed("a string that is not UTF-8")
  }
  const timestamp = (length: number): void => {
    const start = take(length)
    if (length === 4) return
    const nanoseconds = length === 8 ? view.getUint32(start) >>> 2 : view.getUint32(start)
    if (nanoseconds > 999_999_999) malformed("a timestamp with more than a second of nanoseconds")
    if (length === 12) {
      const milliseconds = Number(view.getBigInt64(start + 4)) * 1000 + nanoseconds / 1e6
      if (!(Math.abs(milliseconds) <= dateRange)) malformed("a timestamp outside the range of a Date")
    }
  }
  while (pending > 0) {
    if (position >= end) malformed("the data ends early")
    const byte = view.getUint8(position++)
    pending--
    if (byte < 0x80 || byte >= 0xe0) continue
    if (byte < 0x90) values(2 * (byte & 0x0f))
    else if (byte < 0xa0) values(byte & 0x0f)
    else if (byte < 0xc0) text(byte & 0x1f)
    else {
      switch (byte) {
        case 0xc0: // nil, false, true
        case 0xc2:
        case 0xc3:
          break
        case 0xc4: // bin 8, 16, 32
          take(view.getUint8(take(1)))
          break
        case 0xc5:
          take(view.getUint16(take(2)))
          break
        case 0xc6:
          take(view.getUint32(take(4)))
          break
        case 0xca: // float 32, 64, uint 8-64, int 8-64
        case 0xcb:
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3:
          take(integerSizes[byte - 0xca] ?? 0)
          break
        case 0xd4: {
          // fixext 1: undefined (type 0), or the invalid Date msgpackr writes (type -1, data 0xff)
          const start = take(2)
          const kind = view.getUint16(start)
          if (kind !== 0x0000 && kind !== 0xffff) malformed("an unknown extension")
          break
        }
        case 0xd6: // timestamp 32, 64 (fixext 4, 8 of type -1)
        case 0xd7:
          if (view.getUint8(take(1)) !== 0xff) malformed("an unknown extension")
          timestamp(byte === 0xd6 ? 4 : 8)
          break
        case 0xc7: {
          // ext 8: only timestamp 96
          const start = take(2)
          if (view.getUint8(start) !== 12 || view.getUint8(start + 1) !== 0xff) malformed("an unknown extension")
          timestamp(12)
          break
        }
        case 0xd9: // str 8, 16, 32
          text(view.getUint8(take(1)))
          break
        case 0xda:
          text(view.getUint16(take(2)))
          break
        case 0xdb:
          text(view.getUint32(take(4)))
          break
        case 0xdc: // array 16, 32
          values(view.getUint16(take(2)))
          break
        case 0xdd:
          values(view.getUint32(take(4)))
          break
        case 0xde: // map 16, 32
          values(2 * view.getUint16(take(2)))
          break
        case 0xdf:
          values(2 * view.getUint32(take(4)))
          break
        default:
          // 0xc1 (reserved), ext 16 and 32, fixext 2 and 16: never written by this codec
          malformed(byte === 0xc1 ? "the reserved byte 0xc1" : "an unknown extension")
      }
    }
  }
  if (position !== end) malformed("bytes after the value")
}

// Payload sizes of float 32, float 64, uint 8/16/32/64 and int 8/16/32/64 (0xca to 0xd3).
const integerSizes: ReadonlyArray<number> = [4, 8, 1, 2, 4, 8, 1, 2, 4, 8]

/**
 * Whether `bytes[start, end)` is UTF-8. Surrogate code points (ED A0–BF) pass: msgpackr writes a lone surrogate of
 * a short string that way, so refusing them would make a value this codec wrote unreadable.
 */
const isUtf8 = (bytes: Uint8Array, start: number, end: number): boolean => {
  let i = start
  while (i < end) {
    const lead = bytes[i] ?? 0
    if (lead < 0x80) {
      i++
      continue
    }
    let length: number
    let low = 0x80
    let high = 0xbf
    if (lead >= 0xc2 && lead <= 0xdf) length = 2
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3
      if (lead === 0xe0) low = 0xa0
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4
      if (lead === 0xf0) low = 0x90
      else if (lead === 0xf4) high = 0x8f
    } else return false
    if (i + length > end) return false
    const second = bytes[i + 1] ?? 0
    if (second < low || second > high) return false
    for (let k = 2; k < length; k++) {
      const next = bytes[i + k] ?? 0
      if (next < 0x80 || next > 0xbf) return false
    }
    i += length
  }
  return true
}

/** @internal */
export const msgPack: BinaryCodec = {
  name: "msgpack",
  binary: true,
  encode: (value) => {
    const packed = packBytes(value)
    if (Either.isLeft(packed)) throw new CodecFailure("the value cannot be packed as MessagePack")
    return packed.right
  },
  decode: (bytes) => {
    checkMessagePack(bytes)
    const value = unpackBytes(bytes)
    if (Either.isLeft(value)) throw new CodecFailure("the stored value is not MessagePack")
    return value.right
  }
}

/**
 * A view's codec: a value to what the backend stores, and a stored value (in whichever form the backend answers
 * it) back, through the codec and, for a typed view, its Schema. `binary` says which form the codec reads, so that
 * the view asks the backend for that one.
 *
 * @internal
 */
export interface ValueCodec<A> {
  readonly binary: boolean
  readonly encode: (value: A) => string | Uint8Array
  readonly decode: (stored: string | Uint8Array) => A
}

/** The codec's `decode`, taking a stored value in either form: text as UTF-8 bytes for a binary codec, and back. */
const reader = (codec: Codec): ((stored: string | Uint8Array) => unknown) => {
  if (codec.binary === true) {
    const decode = codec.decode
    return (stored) => decode(Wire.bytes(stored))
  }
  const decode = codec.decode
  return (stored) => decode(typeof stored === "string" ? stored : Wire.text(stored))
}

/** @internal */
export const plainValue = (codec: Codec): ValueCodec<unknown> => ({
  binary: codec.binary === true,
  encode: codec.encode,
  decode: reader(codec)
})

/** @internal */
export class SchemaFailure extends Error {
  readonly _tag = "SchemaFailure"
  constructor(readonly issue: ParseResult.ParseError) {
    super("schema mismatch")
  }
}

/** @internal */
export const schemaValue = <A, I>(codec: Codec, schema: Schema.Schema<A, I, never>): ValueCodec<A> => {
  const encode = Schema.encodeEither(schema)
  const decode = Schema.decodeUnknownEither(schema)
  const read = reader(codec)
  return {
    binary: codec.binary === true,
    encode: (value) => {
      const encoded = encode(value)
      if (Either.isLeft(encoded)) throw new SchemaFailure(encoded.left)
      return codec.encode(encoded.right)
    },
    decode: (stored) => {
      const decoded = decode(read(stored))
      if (Either.isLeft(decoded)) throw new SchemaFailure(decoded.left)
      return decoded.right
    }
  }
}

/**
 * Where a codec made from options that are not valid (`Codec.compressed`) keeps its refusal: a constructor is not
 * an Effect, so the cache that is given such a codec fails with it instead (`validate.ts`).
 */
export const refusal: unique symbol = Symbol.for("@cachet/core/Codec/refusal")

/** @internal */
export interface RefusedCodec extends BinaryCodec {
  /** Why the codec's options were refused. */
  readonly [refusal]: string
}

/** @internal */
export const refused = (name: string, reason: string): RefusedCodec => {
  const fail = (): never => {
    throw new CodecFailure(reason)
  }
  return { name, binary: true, encode: fail, decode: fail, [refusal]: reason }
}
