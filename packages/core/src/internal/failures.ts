/**
 * Codec and schema throws as typed errors. The error's `detail` says what failed without quoting the value (a
 * parse error's own messages do, so only its paths are kept): the schema paths that did not match, or the reason a
 * codec gave.
 */

import * as ParseResult from "effect/ParseResult"
import type { Operation } from "../CacheError.js"
import { CacheDecodeError, CacheEncodeError } from "../CacheError.js"
import { CodecFailure, SchemaFailure } from "./codec.js"

/** @internal */
export const detailOf = (cause: unknown): string | undefined => {
  if (cause instanceof SchemaFailure) {
    const paths = ParseResult.ArrayFormatter.formatErrorSync(cause.issue).map((issue) =>
      issue.path.length === 0 ? "the value itself" : issue.path.map(String).join(".")
    )
    return `at ${Array.from(new Set(paths)).join(", ")}`
  }
  // A codec's own reasons name kinds of values, never the values.
  return cause instanceof CodecFailure ? cause.message : undefined
}

/** @internal */
export const encodeFailure = (operation: Operation, key: string | undefined, cause: unknown): CacheEncodeError =>
  new CacheEncodeError({
    operation,
    key,
    code: cause instanceof SchemaFailure ? "SCHEMA_ENCODE_FAILED" : "UNSUPPORTED_VALUE",
    detail: detailOf(cause),
    cause
  })

/** @internal */
export const decodeFailure = (operation: Operation, key: string | undefined, cause: unknown): CacheDecodeError =>
  new CacheDecodeError({
    operation,
    key,
    code: cause instanceof SchemaFailure ? "SCHEMA_MISMATCH" : "MALFORMED",
    detail: detailOf(cause),
    cause
  })
