/**
 * Errors re-labelled with the caller's view: backends name their own primitives, the service names the operation
 * the caller ran.
 */
import {
  CacheCommandError,
  CacheDecodeError,
  CacheEncodeError,
  type CacheError,
  CacheInvalidInputError,
  CacheTimeoutError,
  CacheUnavailableError,
  type Operation
} from "../CacheError.js"

/**
 * The same error, re-labelled with the public operation and key. Backends raise errors named after their own
 * commands; the service puts the caller's view on them.
 *
 * @internal
 */
export const withContext = (error: CacheError, operation: Operation, key: string | undefined): CacheError => {
  if (error.operation === operation && error.key === key) return error
  const base = { operation, key, cause: error.cause }
  switch (error._tag) {
    case "CacheUnavailableError":
      return new CacheUnavailableError({ ...base, code: error.code, server: error.server, detail: error.detail })
    case "CacheTimeoutError":
      return new CacheTimeoutError({ ...base, code: error.code, server: error.server, detail: error.detail })
    case "CacheEncodeError":
      return new CacheEncodeError({ ...base, code: error.code, detail: error.detail })
    case "CacheDecodeError":
      return new CacheDecodeError({ ...base, code: error.code, detail: error.detail })
    case "CacheCommandError":
      return new CacheCommandError({ ...base, code: error.code })
    case "CacheInvalidInputError":
      return new CacheInvalidInputError({ ...base, code: error.code, reason: error.reason })
  }
}
