import { defineProject } from "vitest/config"
import { sharedTestOptions } from "../../vitest.shared.js"

// The soak (test/RedisSoak.test.ts) loads the machine for minutes and measures recovery times: it runs alone, after
// every other project (a higher group order), so it neither slows the rest of the suite nor is slowed by it.
export default defineProject({
  resolve: { conditions: ["@cachet/source"] },
  ssr: { resolve: { conditions: ["@cachet/source"] } },
  test: {
    ...sharedTestOptions,
    globalSetup: ["../../dev/src/globalSetup.ts"],
    name: "redis-soak",
    include: ["test/RedisSoak.test.ts"],
    sequence: { groupOrder: 1 },
    // A heap measured after a forced collection says whether it grows.
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--expose-gc"] } },
    hookTimeout: 30_000
  }
})
