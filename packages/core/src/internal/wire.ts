/**
 * A stored value in the other form: backends keep text and bytes alike, and a reader gets the form its codec reads.
 * Text is UTF-8 on the wire, as Redis and every client see it; bytes that are not UTF-8 read as text with U+FFFD in
 * their place, as ioredis reads them.
 */

const encoder = new TextEncoder()
// A byte order mark stays text, as in ioredis's replies (a TextDecoder would drop a leading one).
const decoder = new TextDecoder("utf-8", { ignoreBOM: true })

/** The UTF-8 text of stored bytes. */
export const text = (bytes: Uint8Array): string => decoder.decode(bytes)

/** A stored value as bytes: text as its UTF-8 encoding. */
export const bytes = (stored: string | Uint8Array): Uint8Array =>
  typeof stored === "string" ? encoder.encode(stored) : stored
