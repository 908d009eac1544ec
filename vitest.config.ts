import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@heed/source"] },
  ssr: { resolve: { conditions: ["@heed/source"] } },
  test: {
    include: [
      "packages/*/src/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
      "services/*/src/**/*.test.ts",
      "test/**/*.test.ts",
    ],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // End-to-end tests start nats-server, coordinators and workers; on two cores
    // running files one at a time keeps timing-based politeness checks honest.
    fileParallelism: false,
    pool: "forks",
  },
});
