// Public API of @kv-assets/sync: sync, prune, unlock and deploys, their options, and what integrations
// (the Vite plugin) build on. The binary is bin.ts.
export { syncAssets } from "./sync.js";
export type { SyncOptions, SyncResult, SyncLogger } from "./options.js";
export type { ScanOptions, SkippedFile, SkipReason } from "./scan.js";
export type { RemoteKvOptions } from "./kv-remote.js";
export { pruneAssets } from "./prune.js";
export type { PruneOptions, PruneResult } from "./prune.js";
export { unlockAssets } from "./unlock.js";
export type { UnlockOptions } from "./unlock.js";
export { listDeploys, rollbackDeploy, removePreview } from "./deploys.js";
export { pushAssets } from "./push.js";
export type { PushOptions, PushResult } from "./push.js";
export type { Deploy, DeployOptions, Preview } from "./deploys.js";
export type { KvTarget, KvEntry, ListedKey } from "./target.js";
export { KvAssetsError } from "./errors.js";
export { validateSyncOptions } from "./validate-options.js";
export { interruptible } from "./signals.js";
export type { Interruptible } from "./signals.js";
export { terminalProgress } from "./progress.js";
