/**
 * @since 0.1.0
 */
export * as MemoryCache from "./MemoryCache.js"
