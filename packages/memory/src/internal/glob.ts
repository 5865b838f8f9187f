/**
 * Redis glob matching (`stringmatchlen`, Redis 7.0, case-sensitive) over the UTF-8 bytes of keys and patterns,
 * so that a pattern selects exactly the keys a Redis server would select.
 *
 * The pattern is compiled once into tokens. Every token except `*` consumes exactly one byte, which lets a
 * single-backtrack-point matcher decide a key without recursion. Quirks kept on purpose, because Redis has them:
 *
 * - `?` and bracket classes match one BYTE, not one character.
 * - Ranges compare bytes as C `char`, signed on x86-64 (checked against redis-server 7.0.15 there; on ARM,
 *   where `char` is unsigned, Redis itself answers differently): `[a-\xc3]` is the range from -61 to 97, so
 *   it holds the bytes 0x00–0x61 and 0xC3–0xFF. Only ranges with a non-ASCII end are affected.
 * - A reversed range `[z-a]` is the range `[a-z]`; `[a-]` is the range from `]` to `a`, and the bracket goes on.
 * - An unterminated bracket ends the pattern; `[` alone matches nothing, `[^` matches any byte.
 * - A trailing backslash is a literal backslash.
 * - The empty key is matched only by the empty pattern (Redis never enters its loop), although SCAN's `*`
 *   short-cut returns it; `scan` handles that short-cut itself.
 * - Redis recurses once per `*` and gives up (no match) below a nesting of 1000, so a pattern with more than
 *   1000 stars that are not its last token matches nothing. Consecutive stars count once; checked against
 *   Redis 7.0.15.
 */

const STAR = -1
const ANY = -2
/** Tokens at or above this value index a bracket class. */
const CLASS = 256
/** Redis's recursion limit for `*`. */
const MAX_NESTING = 1000

const encoder = new TextEncoder()

/** A compiled pattern. */
export interface Glob {
  readonly pattern: string
  /** Literal tokens 0–255, `STAR`, `ANY`, or `CLASS + i`. */
  readonly tokens: Int32Array
  readonly classes: ReadonlyArray<Uint8Array>
  /** The pattern's literal prefix as a JS string, when a string comparison decides it exactly (see `safeLiteral`). */
  readonly literal: string | undefined
  /** How many tokens (and bytes) the literal prefix accounts for. */
  readonly literalBytes: number
  /** `literal` then only stars: a prefix test suffices. */
  readonly prefixOnly: boolean
  /** No metacharacter at all: equality suffices. */
  readonly exact: boolean
  /** Too many stars for Redis's recursion limit: nothing matches. */
  readonly hopeless: boolean
}

const signed = (byte: number): number => (byte >= 128 ? byte - 256 : byte)

/** Compile the bytes of a pattern into tokens, following the order in which Redis tests each bracket case. */
export const tokenize = (p: Uint8Array): { tokens: Int32Array; classes: Array<Uint8Array>; hopeless: boolean } => {
  const tokens: Array<number> = []
  const classes: Array<Uint8Array> = []
  const n = p.length
  let i = 0
  while (i < n) {
    const c = p[i] ?? 0
    if (c === 0x2a) {
      // Consecutive stars are one star; collapsing keeps the backtracking matcher linear in them.
      if (tokens[tokens.length - 1] !== STAR) tokens.push(STAR)
      i++
    } else if (c === 0x3f) {
      tokens.push(ANY)
      i++
    } else if (c === 0x5b) {
      i++
      const negate = i < n && p[i] === 0x5e
      if (negate) i++
      const table = new Uint8Array(256)
      for (;;) {
        const b = p[i] ?? 0
        if (b === 0x5c && n - i >= 2) {
          table[p[i + 1] ?? 0] = 1
          i += 2
        } else if (i < n && b === 0x5d) {
          i++
          break
        } else if (i >= n) {
          break
        } else if (n - i >= 3 && p[i + 1] === 0x2d) {
          let low = signed(b)
          let high = signed(p[i + 2] ?? 0)
          if (low > high) {
            const t = low
            low = high
            high = t
          }
          for (let x = 0; x < 256; x++) {
            const s = signed(x)
            if (s >= low && s <= high) table[x] = 1
          }
          i += 3
        } else {
          table[b] = 1
          i++
        }
      }
      if (negate) for (let x = 0; x < 256; x++) table[x] = table[x] === 1 ? 0 : 1
      tokens.push(CLASS + classes.length)
      classes.push(table)
    } else if (c === 0x5c && n - i >= 2) {
      tokens.push(p[i + 1] ?? 0)
      i += 2
    } else {
      tokens.push(c)
      i++
    }
  }
  let nesting = 0
  for (let t = 0; t < tokens.length - 1; t++) if (tokens[t] === STAR) nesting++
  return { tokens: Int32Array.from(tokens), classes, hopeless: nesting > MAX_NESTING }
}

// A lone surrogate encodes as U+FFFD, so two different JS strings can share UTF-8 bytes; string comparison
// is only exact when the literal holds neither.
const UNSAFE_LITERAL = /[\uD800-\uDFFF\uFFFD]/

/** Compile a pattern. */
export const compile = (pattern: string): Glob => {
  const { classes, hopeless, tokens } = tokenize(encoder.encode(pattern))
  let literal = ""
  let i = 0
  const n = pattern.length
  while (i < n) {
    const c = pattern[i]
    if (c === "*" || c === "?" || c === "[") break
    if (c === "\\" && i + 1 < n) {
      literal += pattern[i + 1]
      i += 2
    } else {
      literal += c
      i++
    }
  }
  const safe = !UNSAFE_LITERAL.test(literal)
  let rest = i
  while (rest < n && pattern[rest] === "*") rest++
  return {
    pattern,
    tokens,
    classes,
    literal: safe ? literal : undefined,
    literalBytes: safe ? encoder.encode(literal).length : 0,
    prefixOnly: safe && rest === n && i < n,
    exact: safe && i === n,
    hopeless
  }
}

let scratch = new Uint8Array(256)

/** The UTF-8 bytes of a key in a reused buffer (valid until the next call) and their count. */
const bytesOf = (key: string): number => {
  const n = key.length
  if (scratch.length < n * 3) scratch = new Uint8Array(n * 3)
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i)
    if (c >= 0x80) return encoder.encodeInto(key, scratch).written
    scratch[i] = c
  }
  return n
}

const matchTokens = (glob: Glob, s: Uint8Array, length: number, from: number): boolean => {
  if (glob.hopeless) return false
  const tokens = glob.tokens
  const classes = glob.classes
  const count = tokens.length
  let t = from
  let i = from
  let starToken = -1
  let starByte = 0
  while (i < length) {
    if (t < count) {
      const token = tokens[t] ?? 0
      if (token === STAR) {
        starToken = t++
        starByte = i
        continue
      }
      const byte = s[i] ?? 0
      if (token === ANY || token === byte || (token >= CLASS && classes[token - CLASS]?.[byte] === 1)) {
        t++
        i++
        continue
      }
    }
    if (starToken < 0) return false
    t = starToken + 1
    i = ++starByte
  }
  while (t < count && tokens[t] === STAR) t++
  return t === count
}

/** Whether the key matches the compiled pattern, as Redis `stringmatchlen` decides. */
export const matches = (glob: Glob, key: string): boolean => {
  if (key.length === 0) return glob.tokens.length === 0
  const literal = glob.literal
  if (literal !== undefined) {
    if (glob.exact) return key === literal
    if (!key.startsWith(literal)) return false
    if (glob.prefixOnly) return true
  }
  const length = bytesOf(key)
  return matchTokens(glob, scratch, length, glob.literalBytes)
}

/** Match raw bytes, for callers (and tests) that already hold them. */
export const matchBytes = (pattern: Uint8Array, key: Uint8Array): boolean => {
  const { classes, hopeless, tokens } = tokenize(pattern)
  if (key.length === 0) return tokens.length === 0
  const glob: Glob = {
    hopeless,
    pattern: "",
    tokens,
    classes,
    literal: undefined,
    literalBytes: 0,
    prefixOnly: false,
    exact: false
  }
  return matchTokens(glob, key, key.length, 0)
}

/** One-off match of a pattern string against a key. */
export const match = (pattern: string, key: string): boolean => matches(compile(pattern), key)
