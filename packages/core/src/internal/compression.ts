/**
 * `Codec.compressed`: a codec's encoded values through `node:zlib` when they are long, and back. Documented in
 * `Codec.ts`, with the rule that tells a compressed value from a plain one.
 */
import { constants as bufferConstants } from "node:buffer"
import * as zlib from "node:zlib"
import * as Either from "effect/Either"
import type { BinaryCodec, Codec, CompressedOptions } from "../Codec.js"
import { CodecFailure, refused } from "./codec.js"
import * as Validate from "./validate.js"
import * as Wire from "./wire.js"

const defaultThreshold = 1024
const defaultMaxDecodedBytes = 64 * 1024 * 1024

// Brotli has no magic number: a brotli value is its stream after these bytes. 0xc1 begins no UTF-8 text (it is an
// overlong lead byte) and no MessagePack value (it is the one reserved byte), so no plain value of a text codec or of
// `Codec.msgPack` can be taken for one.
const brotliMarker = Uint8Array.of(0xc1, 0x62, 0x72)

const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

const isBrotli = (bytes: Uint8Array): boolean =>
  bytes.length >= 3 && bytes[0] === 0xc1 && bytes[1] === 0x62 && bytes[2] === 0x72

// Quality 4 of 11: about a fifth of the time of the default quality 11 per kilobyte, for a few percent more bytes,
// which is the trade a cache on its hot path wants.
const brotliQuality = 4

const compressWith = (algorithm: CompressedOptions["algorithm"], text: boolean) => {
  if (algorithm === "gzip") return (plain: Uint8Array): Uint8Array => zlib.gzipSync(plain)
  const mode = text ? zlib.constants.BROTLI_MODE_TEXT : zlib.constants.BROTLI_MODE_GENERIC
  return (plain: Uint8Array): Uint8Array => {
    const stream = zlib.brotliCompressSync(plain, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: brotliQuality,
        [zlib.constants.BROTLI_PARAM_MODE]: mode,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: plain.byteLength
      }
    })
    const framed = new Uint8Array(brotliMarker.length + stream.byteLength)
    framed.set(brotliMarker)
    framed.set(stream, brotliMarker.length)
    return framed
  }
}

const isTooLarge = (error: unknown): boolean =>
  error instanceof RangeError && "code" in error && error.code === "ERR_BUFFER_TOO_LARGE"

/** The plain bytes of a stored value: decompressed when it is framed as gzip or brotli, else as they are. */
const decompressWith = (maxDecodedBytes: number) => {
  const options = { maxOutputLength: maxDecodedBytes }
  const inflate = (what: string, run: () => Uint8Array): Uint8Array => {
    try {
      return run()
    } catch (error) {
      throw new CodecFailure(
        isTooLarge(error)
          ? `the stored ${what} value decompresses to more than maxDecodedBytes (${maxDecodedBytes} bytes)`
          : `the stored value is framed as ${what} but does not decompress`,
        { cause: error }
      )
    }
  }
  return (bytes: Uint8Array): Uint8Array => {
    if (isGzip(bytes)) return inflate("gzip", () => zlib.gunzipSync(bytes, options))
    if (isBrotli(bytes)) {
      return inflate("brotli", () => zlib.brotliDecompressSync(bytes.subarray(brotliMarker.length), options))
    }
    return bytes
  }
}

/** Why the arguments of `compressed` are refused, or `undefined` when they are valid. */
const refusalOf = (codec: unknown, options: CompressedOptions): string | undefined => {
  const inner = Validate.codecOf("make", codec)
  if (Either.isLeft(inner)) return inner.left.reason
  if (!Validate.isRecord(options)) return "Codec.compressed: the options must be an object"
  // From plain JavaScript, any value can be in any field.
  const { algorithm, threshold, maxDecodedBytes }: { readonly [K in keyof CompressedOptions]: unknown } = options
  if (algorithm !== "gzip" && algorithm !== "brotli") return 'Codec.compressed: algorithm must be "gzip" or "brotli"'
  if (
    threshold !== undefined &&
    !(typeof threshold === "number" && Number.isSafeInteger(threshold) && threshold >= 0)
  ) {
    return "Codec.compressed: threshold must be a whole number of bytes, zero or more"
  }
  if (
    maxDecodedBytes !== undefined &&
    !(
      typeof maxDecodedBytes === "number" &&
      Number.isSafeInteger(maxDecodedBytes) &&
      maxDecodedBytes >= 1 &&
      maxDecodedBytes <= bufferConstants.MAX_LENGTH
    )
  ) {
    return `Codec.compressed: maxDecodedBytes must be a whole number of bytes, from 1 to ${bufferConstants.MAX_LENGTH}`
  }
  return undefined
}

/** @internal */
export const compressed = (codec: Codec, options: CompressedOptions): BinaryCodec => {
  let why: string | undefined
  try {
    why = refusalOf(codec, options)
  } catch {
    why = Validate.threwReason
  }
  if (why !== undefined) return refused("compressed", why)
  const threshold = options.threshold ?? defaultThreshold
  const compress = compressWith(options.algorithm, codec.binary !== true)
  const maxDecodedBytes = options.maxDecodedBytes ?? defaultMaxDecodedBytes
  const decompress = decompressWith(maxDecodedBytes)
  const encodePlain = codec.binary === true ? codec.encode : (value: unknown) => Wire.bytes(codec.encode(value))
  const decodePlain = codec.binary === true ? codec.decode : (bytes: Uint8Array) => codec.decode(Wire.text(bytes))
  return {
    name: `${options.algorithm}(${codec.name})`,
    binary: true,
    encode: (value) => {
      const plain = encodePlain(value)
      // The bound of what this codec reads bounds what it writes: a larger value would never read back.
      if (plain.byteLength > maxDecodedBytes) {
        throw new CodecFailure(
          `the encoded value is ${plain.byteLength} bytes, more than maxDecodedBytes (${maxDecodedBytes}): it could not be read back`
        )
      }
      if (plain.byteLength <= threshold) return plain
      const packed = compress(plain)
      // Incompressible data stays plain: it would cost its reader a decompression for nothing.
      return packed.byteLength < plain.byteLength ? packed : plain
    },
    decode: (bytes) => decodePlain(decompress(bytes))
  }
}
