import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as Glob from "../src/internal/glob.js"

const encoder = new TextEncoder()
const utf8 = (text: string): Uint8Array => encoder.encode(text)
/** Bytes written as a string of code points 0–255, one per byte. */
const raw = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0))

/**
 * An independent reference of Redis's rules: the pattern becomes a JavaScript regular expression over a
 * "binary string" (one code unit per byte), each bracket class an explicit list of its member bytes, each byte
 * of a class tested against the rules one at a time rather than compiled into a table.
 */
const reference = (pattern: Uint8Array, key: Uint8Array): boolean => {
  // Redis's loop runs only while both remain, so the empty key matches only the empty pattern.
  if (key.length === 0) return pattern.length === 0
  const asChar = (c: number): number => (c > 127 ? c - 256 : c)
  const byteAt = (k: number): number => (k < pattern.length ? (pattern[k] ?? 0) : 0)
  const hexByte = (b: number): string => `\\x${b.toString(16).padStart(2, "0")}`
  const pieces: Array<string> = []
  let k = 0
  while (k < pattern.length) {
    const c = byteAt(k)
    if (c === 42) {
      pieces.push("*")
      k += 1
    } else if (c === 63) {
      pieces.push("[\\x00-\\xff]")
      k += 1
    } else if (c === 91) {
      k += 1
      const negated = byteAt(k) === 94 && k < pattern.length
      if (negated) k += 1
      const members: Array<(b: number) => boolean> = []
      while (true) {
        const left = pattern.length - k
        const here = byteAt(k)
        if (here === 92 && left >= 2) {
          const escaped = byteAt(k + 1)
          members.push((b) => b === escaped)
          k += 2
          continue
        }
        if (left > 0 && here === 93) {
          k += 1
          break
        }
        if (left <= 0) break
        if (left >= 3 && byteAt(k + 1) === 45) {
          const a = asChar(here)
          const z = asChar(byteAt(k + 2))
          members.push((b) => asChar(b) >= Math.min(a, z) && asChar(b) <= Math.max(a, z))
          k += 3
          continue
        }
        members.push((b) => b === here)
        k += 1
      }
      const chosen: Array<string> = []
      for (let b = 0; b < 256; b++) {
        const inside = members.some((member) => member(b))
        if (inside !== negated) chosen.push(hexByte(b))
      }
      pieces.push(chosen.length === 0 ? "(?!)" : `[${chosen.join("")}]`)
    } else if (c === 92 && pattern.length - k >= 2) {
      pieces.push(hexByte(byteAt(k + 1)))
      k += 2
    } else {
      pieces.push(hexByte(c))
      k += 1
    }
  }
  // Redis recurses at each star that is not the pattern's last element and stops matching past 1000 levels.
  const joined = pieces
    .join("\n")
    .replace(/\*(\n\*)+/g, "*")
    .split("\n")
  const nesting = joined.filter((piece, index) => piece === "*" && index < joined.length - 1).length
  if (nesting > 1000) return false
  const source = joined.map((piece) => (piece === "*" ? "[\\x00-\\xff]*" : piece)).join("")
  return new RegExp(`^${source}$`).test(String.fromCharCode(...key))
}

// Outcomes checked one by one against redis-server 7.0.15 (KEYS on a throwaway server).
const table: ReadonlyArray<readonly [pattern: string, key: string, matches: boolean]> = [
  ["", "", true],
  ["**", "", false],
  ["?", "", false],
  ["[^", "", false],
  ["a*", "a", true],
  ["a*b", "ab", true],
  ["a*b", "a", false],
  ["a*b*c", "abbbc", true],
  ["*a*", "a", true],
  ["*?", "a", true],
  ["*??", "a", false],
  ["?*", "a", true],
  ["a?c", "abc", true],
  ["a?c", "ac", false],
  ["h[^e]llo", "hallo", true],
  ["h[^e]llo", "hello", false],
  ["[z-a]", "m", true],
  ["[a-]", "]", true],
  ["[a-]", "^", true],
  ["[a-]b", "]b", false],
  ["[a-]b]", "^b]", false],
  ["[", "a", false],
  ["[", "[", false],
  ["[^", "x", true],
  ["[^", "xy", false],
  ["[abc", "b", true],
  ["[abc", "bc", false],
  ["[^abc", "d", true],
  ["\\", "\\", true],
  ["a\\", "a\\", true],
  ["[\\", "\\", true],
  ["[\\]", "]", true],
  ["[\\]]", "]", true],
  ["[]]", "]", false],
  ["[]a]", "]", false],
  ["[]", "]", false],
  ["[^]a", "]a", true],
  ["[^]a", "xa", true],
  ["[]-a]", "-", false],
  ["\\*", "*", true],
  ["\\*", "a", false],
  ["\\?", "?", true],
  ["\\[a]", "[a]", true],
  ["[\\-a]", "-", true],
  ["[\\-a]", "b", false],
  ["[a\\-z]", "-", true],
  ["[a\\-z]", "m", false],
  ["[*]", "*", true],
  ["[*]", "a", false],
  ["*[", "a", false],
  ["a[", "a", false],
  ["a[^", "a", false],
  ["?", "é", false],
  ["??", "é", true],
  ["[é]", "é", false],
  ["[é]?", "é", true],
  ["???", "日", true],
  ["????", "😀", true],
  ["*日*", "a日b", true],
  ["\\日", "日", true],
  ["é*", "éa", true],
  ["[a-z]*", "é", false],
  ["[^a]*", "é", true],
  ["user:*", "user:1", true],
  ["user:*", "user:", true],
  ["user:*", "use", false],
  ["user\\:*", "user:1", true],
  ["cachet:\\*x*", "cachet:*xy", true],
  ["cachet:\\*x*", "cachet:axy", false],
  ["*a".repeat(1000), "a".repeat(1000), true],
  ["*a".repeat(1001), "a".repeat(1001), false],
  [`${"*a".repeat(1000)}*`, `${"a".repeat(1000)}zz`, true],
  [`${"*a".repeat(1001)}*`, `${"a".repeat(1001)}zz`, false],
  ["**a".repeat(1000), "a".repeat(1000), true],
  [`${"*".repeat(3000)}a`, "a", true],
  ["?*".repeat(1001), "a".repeat(1001), true]
]

// Byte-level cases (one character per byte) where Redis compares range ends as signed C chars.
const rawTable: ReadonlyArray<readonly [pattern: string, key: string, matches: boolean]> = [
  ["[a-\u00c3]", "b", false],
  ["[a-\u00c3]", "P", true],
  ["[a-\u00c3]", "\u00c3", true],
  ["[a-\u00c3]", "\u00d0", true],
  ["[a-\u00c3]", "\u00b0", false],
  ["[\u00c3-a]", "\u00ff", true],
  ["[\u0080-\u00ff]", "\u0090", true],
  ["[\u0080-\u00ff]", "a", false],
  ["[\u0000-\u007f]", "\u0080", false],
  ["[\u00c3\u00a9]", "\u00c3", true]
]

describe("glob", () => {
  it.each(table)("%j matches %j: %s", (pattern, key, matches) => {
    expect(Glob.match(pattern, key)).toBe(matches)
    expect(Glob.matchBytes(utf8(pattern), utf8(key))).toBe(matches)
    // A backtracking regular expression takes exponential time on a thousand stars; the rows that probe Redis's
    // nesting limit are checked against the matcher and the recorded outcome only.
    if (pattern.length < 100) expect(reference(utf8(pattern), utf8(key))).toBe(matches)
  })

  it.each(rawTable)("bytes %j match %j: %s", (pattern, key, matches) => {
    expect(Glob.matchBytes(raw(pattern), raw(key))).toBe(matches)
    expect(reference(raw(pattern), raw(key))).toBe(matches)
  })

  const fragments = [
    "*",
    "**",
    "?",
    "[",
    "]",
    "^",
    "-",
    "\\",
    "a",
    "b",
    "z",
    "A",
    ":",
    "é",
    "日",
    "😀",
    "\u00ff",
    "\u0080",
    "\uD800",
    "\uFFFD",
    "[a-z]",
    "[z-a]",
    "[^a]",
    "[é-a]",
    "\\*",
    "\\[",
    "\\é"
  ]
  const keyFragments = [
    "a",
    "b",
    "z",
    "A",
    ":",
    "-",
    "]",
    "[",
    "\\",
    "*",
    "?",
    "^",
    "é",
    "日",
    "😀",
    "\u00ff",
    "\u0080"
  ]
  const patterns = FastCheck.array(FastCheck.constantFrom(...fragments), { maxLength: 7 }).map((xs) => xs.join(""))
  const literalPrefixed = FastCheck.tuple(
    FastCheck.array(FastCheck.constantFrom("a", "b", ":", "é", "日", "\\*", "\\?", "\\\\", "\\"), { maxLength: 4 }),
    patterns
  ).map(([prefix, rest]) => prefix.join("") + rest)
  const keys = FastCheck.array(
    FastCheck.constantFrom(...keyFragments, "\uD800", "\uFFFD", "\uDC00", "a", "b", "z", "a", "b"),
    { maxLength: 7 }
  ).map((xs) => xs.join(""))

  it.prop("agrees with the reference over UTF-8 strings", [patterns, keys], ([pattern, key]) => {
    expect(Glob.match(pattern, key)).toBe(reference(utf8(pattern), utf8(key)))
  })

  it.prop(
    "agrees with the reference on patterns with a literal prefix (the string fast paths)",
    [literalPrefixed, keys],
    ([pattern, key]) => {
      const glob = Glob.compile(pattern)
      expect(Glob.matches(glob, key)).toBe(reference(utf8(pattern), utf8(key)))
      expect(Glob.matches(glob, `${key}tail`)).toBe(reference(utf8(pattern), utf8(`${key}tail`)))
    }
  )

  it.prop(
    "a compiled pattern agrees with the reference on keys built from its own literal prefix",
    [literalPrefixed, keys],
    ([pattern, key]) => {
      const glob = Glob.compile(pattern)
      const prefixed = (glob.literal ?? "") + key
      expect(Glob.matches(glob, prefixed)).toBe(reference(utf8(pattern), utf8(prefixed)))
    }
  )

  const bytes = FastCheck.array(
    FastCheck.constantFrom(
      0x2a,
      0x3f,
      0x5b,
      0x5d,
      0x5e,
      0x2d,
      0x5c,
      0x61,
      0x62,
      0x7a,
      0x00,
      0x7f,
      0x80,
      0xa9,
      0xc3,
      0xff
    ),
    { maxLength: 9 }
  ).map((xs) => Uint8Array.from(xs))

  it.prop("agrees with the reference over arbitrary bytes", [bytes, bytes], ([pattern, key]) => {
    expect(Glob.matchBytes(pattern, key)).toBe(reference(pattern, key))
  })
})
