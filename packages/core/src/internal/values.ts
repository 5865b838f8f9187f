/**
 * A view's values on the wire: encoded for a write, decoded from a read, every codec or schema throw turned into
 * the typed failure of the operation that met it. The one place a codec is called.
 */
import * as Exit from "effect/Exit"
import type { CacheDecodeError, CacheEncodeError, Operation } from "../CacheError.js"
import * as CacheResult from "../CacheResult.js"
import type { ValueCodec } from "./codec.js"
import { decodeFailure, encodeFailure } from "./failures.js"

const missExit = Exit.succeed(CacheResult.miss)

/** @internal */
export interface Values<A> {
  readonly encode: (
    operation: Operation,
    key: string | undefined,
    value: A
  ) => Exit.Exit<string | Uint8Array, CacheEncodeError>
  readonly decode: (
    operation: Operation,
    key: string | undefined,
    stored: string | Uint8Array
  ) => Exit.Exit<A, CacheDecodeError>
  /** The answer of `get` to the stored value. */
  readonly answer: (
    key: string,
    stored: string | Uint8Array | undefined
  ) => Exit.Exit<CacheResult.CacheResult<A>, CacheDecodeError>
  /** The answer of `getMany` to the stored values: the first that does not decode fails the call. */
  readonly answerMany: (
    keys: ReadonlyArray<string>,
    stored: ReadonlyArray<string | Uint8Array | undefined>
  ) => Exit.Exit<ReadonlyArray<CacheResult.CacheResult<A>>, CacheDecodeError>
}

/** @internal */
export const make = <A>(codec: ValueCodec<A>): Values<A> => {
  // Plain results rather than Exits inside the loop of `answerMany`: one allocation per value, not two.
  const failed = Symbol()
  let failure: unknown
  const tryDecode = (stored: string | Uint8Array): A | typeof failed => {
    try {
      return codec.decode(stored)
    } catch (cause) {
      failure = cause
      return failed
    }
  }
  const decode = (
    operation: Operation,
    key: string | undefined,
    stored: string | Uint8Array
  ): Exit.Exit<A, CacheDecodeError> => {
    const value = tryDecode(stored)
    return value === failed ? Exit.fail(decodeFailure(operation, key, failure)) : Exit.succeed(value)
  }
  return {
    encode: (operation, key, value) => {
      try {
        return Exit.succeed(codec.encode(value))
      } catch (cause) {
        return Exit.fail(encodeFailure(operation, key, cause))
      }
    },
    decode,
    answer: (key, text) => {
      if (text === undefined) return missExit
      const value = tryDecode(text)
      return value === failed ? Exit.fail(decodeFailure("get", key, failure)) : Exit.succeed(CacheResult.hit(value))
    },
    answerMany: (keys, texts) => {
      const results: Array<CacheResult.CacheResult<A>> = new Array(texts.length)
      for (let i = 0; i < texts.length; i++) {
        const text = texts[i]
        if (text === undefined) {
          results[i] = CacheResult.miss
          continue
        }
        const value = tryDecode(text)
        if (value === failed) return Exit.fail(decodeFailure("getMany", keys[i], failure))
        results[i] = CacheResult.hit(value)
      }
      return Exit.succeed(results)
    }
  }
}
