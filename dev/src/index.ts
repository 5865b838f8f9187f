/**
 * Redis servers for the tests and the bench: each a `redis-server` of our own on a free loopback port, stopped with
 * its scope. `@cachet/dev/versions` adds the failover traffic the fault tests share (it needs vitest).
 */
export * from "./cluster.js"
export * from "./harness.js"
export * from "./tls.js"
