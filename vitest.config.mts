import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Pin every `import "graphql"` to the CommonJS entry so that graphql is
    // loaded exactly once (type-graphql and our code must share one copy).
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    globalSetup: ["test/global-setup.ts"],
    include: ["test/**/*.spec.ts", "src/**/*.spec.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: true,
  },
});
