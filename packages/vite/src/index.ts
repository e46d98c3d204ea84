// Public API of @kv-assets/vite.
export { kvAssets, emptyManifest, WORKER_ENVIRONMENT } from "./plugin.js";
export type { KvAssetsOptions } from "./plugin.js";
