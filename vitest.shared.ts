/**
 * Test options every package shares. Fault and fail-open tests make Cachet log on purpose (an outage starting and
 * ending, a background refresh failing); those lines are the behaviour under test, asserted by the tests that
 * expect them, so they are kept out of the run's output. Anything else printed still shows.
 */
const cachetLog = /level=(WARN|INFO|DEBUG) .*message="?cachet: /

export const sharedTestOptions = {
  onConsoleLog: (log: string): false | undefined => (cachetLog.test(log) ? false : undefined)
}
