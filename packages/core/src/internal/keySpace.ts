/**
 * How the cache's own bookkeeping (locks, and later tags) shares the backend's key space with entries without
 * ever meeting them. Every bookkeeping key contains `reserved`; no user key, namespace name, prefix or glob may
 * (validation refuses it), so a bookkeeping key can never be written, read, listed or matched by a user.
 */

/** The separator no user-supplied text may contain. */
export const reserved = "\u0000"

/** The bookkeeping key of `kind` (`"lock"`, ...) that belongs to the entry stored under `full`. */
export const bookkeeping = (full: string, kind: string): string => `${full}${reserved}${kind}`

/** Whether a stored key is the cache's bookkeeping rather than an entry. */
export const isBookkeeping = (key: string): boolean => key.includes(reserved)

/** Ends every non-empty prefix and every namespace: `<prefix><name>:<key>`. */
export const separator = ":"
