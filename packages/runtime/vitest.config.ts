import { defineWorkersProject } from "@cloudflare/vitest-pool-workers/config";

export default defineWorkersProject({
  test: {
    name: "runtime",
    include: ["test/**/*.test.ts"],
    poolOptions: {
      workers: {
        singleWorker: true,
        isolatedStorage: false,
        main: "./test/worker.ts",
        miniflare: {
          compatibilityDate: "2026-02-01",
          kvNamespaces: ["ASSETS"],
          r2Buckets: ["BUCKET"],
          workerLoaders: { LOADER: {} },
          serviceBindings: { ORIGIN: "origin" },
          workers: [
            {
              name: "origin",
              modules: true,
              scriptPath: "./test/origin-worker.js",
              compatibilityDate: "2026-02-01",
            },
          ],
        },
      },
    },
  },
});
