import { defineConfig } from "vitest/config"

// One project per package (each package's vitest.config.ts), plus run-wide options.
export default defineConfig({
  test: {
    // The soak runs last and alone (its own project, a later group).
    projects: [
      "packages/*/vitest.config.ts",
      "packages/redis/vitest.soak.config.ts",
      "test/vitest.config.ts",
      "dev/vitest.config.ts"
    ],
    // Redis tests wait on real servers; a list of "slow" tests would only repeat that.
    slowTestThreshold: 60_000
  }
})
