import { defineConfig } from "vitest/config"

// One project per package (each package's vitest.config.ts), plus run-wide options.
export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "test/vitest.config.ts"],
    // Redis tests wait on real servers; a list of "slow" tests would only repeat that.
    slowTestThreshold: 60_000
  }
})
