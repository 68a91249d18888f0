import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts", "apps/*/src/**/*.test.ts", "apps/*/test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file starts real upstream processes; two at a time suits a 2-core machine.
    maxWorkers: 2,
    reporters: process.env.CI ? ["default", "./test/summary-reporter.ts"] : ["default"],
  },
});
