/**
 * @since 0.1.0
 */
export * as RedisCache from "./RedisCache.js"
