// Every test project of the repository; `npm test` runs them all.
export default [
  "packages/runtime/vitest.config.ts",
  "packages/sync/vitest.config.ts",
  "packages/vite/vitest.config.ts",
  "playground/vitest.config.ts",
  "examples/platform/vitest.config.ts",
  "bench/vitest.config.ts",
];
