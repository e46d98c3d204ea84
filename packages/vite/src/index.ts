// Public API of @kv-assets/vite.
export { kvAssets } from "./plugin.js";
export type { KvAssetsOptions } from "./options.js";
export { emptyManifest, WORKER_ENVIRONMENT } from "./state.js";
