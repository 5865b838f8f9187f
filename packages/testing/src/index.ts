/**
 * The conformance suite: every backend, first-party or not, proves the contract with it.
 *
 * @since 0.1.0
 */
export * as CacheSuite from "./CacheSuite.js"
/**
 * @since 0.1.0
 */
export * as KeyValueStoreSuite from "./KeyValueStoreSuite.js"
