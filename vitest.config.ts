import { defineConfig } from "vitest/config"

// Run-wide options; the packages' own configs (vitest.workspace.ts) hold the rest.
export default defineConfig({
  test: {
    // Redis tests wait on real servers; a list of "slow" tests would only repeat that.
    slowTestThreshold: 60_000
  }
})
