/**
 * How the cache's own bookkeeping (locks, tags) shares the backend's key space with entries without
 * ever meeting them. Every bookkeeping key contains `reserved`; no user key, namespace name, prefix or glob may
 * (validation refuses it), so a bookkeeping key can never be written, read, listed or matched by a user.
 */

/** The separator no user-supplied text may contain. */
export const reserved = "\u0000"

/** The bookkeeping key of `kind` (`"lock"`, ...) that belongs to the entry stored under `full`. */
export const bookkeeping = (full: string, kind: string): string => `${full}${reserved}${kind}`

/** Whether a stored key is the cache's bookkeeping rather than an entry. */
export const isBookkeeping = (key: string): boolean => key.includes(reserved)

/** Whether a stored key is an entry: what `clear` and `deletePattern` count. */
export const isEntry = (key: string): boolean => !isBookkeeping(key)

/** Ends every non-empty prefix and every namespace: `<prefix><name>:<key>`. */
export const separator = ":"

/**
 * The two keys of a tag under `prefix`: its index and its epoch. They share their text up to and including a
 * `{...}` hash tag, and differ only after it, so a Redis Cluster puts them in one slot whatever the prefix holds
 * (the slot comes from the first `{`, and the first `}` after it, which both keys have in common). The tag is
 * percent-encoded inside, so that it has no `}` of its own.
 */
export const tagKeys = (prefix: string, tag: string): { readonly index: string; readonly epoch: string } => {
  const base = `${prefix}${reserved}tag{${encodeURIComponent(tag)}}`
  return { index: `${base}index`, epoch: `${base}epoch` }
}

/** The record of the tags the entry under `full` was written with. */
export const tagRecord = (full: string): string => bookkeeping(full, "tags")

const fromUtf8 = new TextDecoder()

/** Bookkeeping stored as text, however the backend hands it back (a backend with byte reads answers bytes). */
export const textOf = (value: string | Uint8Array | undefined): string | undefined =>
  value === undefined || typeof value === "string" ? value : fromUtf8.decode(value)
