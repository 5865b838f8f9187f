import { defineProject } from "vitest/config"
import { sharedTestOptions } from "../vitest.shared.js"

export default defineProject({
  test: {
    ...sharedTestOptions,
    name: "readme",
    include: ["*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000
  }
})
