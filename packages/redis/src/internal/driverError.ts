/**
 * A copy of whatever the driver rejected with, safe to keep and to log. ioredis attaches the failed command with its
 * arguments (a `HELLO ... AUTH user password`, a stored value) to reply errors, and a cause is logged and serialized
 * with the error it explains: the copy keeps the name, message and socket codes, never the arguments.
 */

/**
 * The part of a driver error that is safe to keep: its name, message and socket codes, never the command
 * arguments ioredis attaches.
 */
export class RedisDriverError extends Error {
  readonly code: string | undefined
  readonly syscall: string | undefined
  readonly previousErrors: ReadonlyArray<RedisDriverError> | undefined
  /** On a Cluster that could not be reached at all: why the last node failed. */
  readonly lastNodeError: RedisDriverError | undefined
  constructor(
    name: string,
    message: string,
    code: string | undefined,
    syscall: string | undefined,
    previousErrors: ReadonlyArray<RedisDriverError> | undefined,
    lastNodeError: RedisDriverError | undefined
  ) {
    super(message)
    this.name = name
    this.code = code
    this.syscall = syscall
    this.previousErrors = previousErrors
    this.lastNodeError = lastNodeError
  }
}

// A driver error is read defensively: ioredis shares one error among every command of a dropped connection and lists
// it in its own `previousErrors`, and a user's client (or a wrapper around it) may reject with anything at all. So a
// copy keeps at most `maxPrevious` previous errors per error, `maxDepth` levels of nesting and `maxCopies` errors in
// all, drops any error already on the path from the root (a cycle), and treats a field whose read throws as absent.
const maxPrevious = 16
const maxDepth = 4
const maxCopies = 64

const field = (u: object, name: string | number): unknown => {
  try {
    return Reflect.get(u, name)
  } catch {
    return undefined
  }
}

const stringField = (u: object, name: string): string | undefined => {
  const value = field(u, name)
  return typeof value === "string" ? value : undefined
}

const isArray = (u: unknown): u is ReadonlyArray<unknown> => {
  try {
    return Array.isArray(u)
  } catch {
    // A revoked Proxy.
    return false
  }
}

interface Copying {
  /** The errors from the root down to the one being copied. */
  readonly path: Array<object>
  copies: number
}

const copyOf = (u: unknown, copying: Copying): RedisDriverError | undefined => {
  if (typeof u !== "object" || u === null) {
    copying.copies++
    return new RedisDriverError(
      "Error",
      typeof u === "string" ? u : "unknown failure",
      undefined,
      undefined,
      undefined,
      undefined
    )
  }
  if (copying.path.includes(u)) return undefined
  copying.copies++
  const nested = copying.path.length < maxDepth
  copying.path.push(u)
  const previousErrors = nested ? previousOf(field(u, "previousErrors"), copying) : undefined
  const lastNode = nested ? field(u, "lastNodeError") : undefined
  const lastNodeError =
    lastNode === undefined || lastNode === null || copying.copies >= maxCopies ? undefined : copyOf(lastNode, copying)
  copying.path.pop()
  const copy = new RedisDriverError(
    stringField(u, "name") ?? "Error",
    stringField(u, "message") ?? "",
    stringField(u, "code"),
    stringField(u, "syscall"),
    previousErrors,
    lastNodeError
  )
  const stack = stringField(u, "stack")
  if (stack !== undefined) copy.stack = stack
  return copy
}

const previousOf = (previous: unknown, copying: Copying): ReadonlyArray<RedisDriverError> | undefined => {
  if (!isArray(previous)) return undefined
  const length = field(previous, "length")
  const count = typeof length === "number" ? Math.min(length, maxPrevious) : 0
  const copies: Array<RedisDriverError> = []
  for (let i = 0; i < count && copying.copies < maxCopies; i++) {
    const copy = copyOf(field(previous, i), copying)
    if (copy !== undefined) copies.push(copy)
  }
  return copies
}

/** A copy of whatever the driver rejected with, safe to keep and to log; never throws. */
export const sanitize = (u: unknown): RedisDriverError =>
  copyOf(u, { path: [], copies: 0 }) ??
  new RedisDriverError("Error", "unknown failure", undefined, undefined, undefined, undefined)
