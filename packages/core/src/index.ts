/**
 * @since 0.1.0
 */
export * as Backend from "./Backend.js"
/**
 * @since 0.1.0
 */
export * as Cache from "./Cache.js"
/**
 * @since 0.1.0
 */
export * as CacheError from "./CacheError.js"
/**
 * @since 0.1.0
 */
export * as CacheKeyValueStore from "./CacheKeyValueStore.js"
/**
 * @since 0.1.0
 */
export * as CacheResult from "./CacheResult.js"
/**
 * @since 0.4.0
 */
export * as CircuitBreaker from "./CircuitBreaker.js"
/**
 * @since 0.1.0
 */
export * as Codec from "./Codec.js"
