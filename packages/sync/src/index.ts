// Public API of @kv-assets/sync.
export { syncAssets } from "./sync.js";
export { openTarget } from "./open-target.js";
export { readHistory } from "./history.js";
export type { SyncOptions, SyncResult, SyncLogger } from "./options.js";
export { pruneAssets } from "./prune.js";
export type { PruneOptions, PruneResult } from "./prune.js";
export { unlockAssets } from "./unlock.js";
export type { UnlockOptions } from "./unlock.js";
export { scanDirectory } from "./scan.js";
export type { ScanOptions, ScannedFile, SkippedFile, SkipReason } from "./scan.js";
export { openLocalKv } from "./kv-local.js";
export type { LocalKvOptions } from "./kv-local.js";
export { openRemoteKv, batches, BULK_MAX_KEYS, BULK_MAX_BYTES } from "./kv-remote.js";
export type { RemoteKvOptions } from "./kv-remote.js";
export type { KvTarget, KvEntry, ListedKey } from "./target.js";
export { readKvBinding, findWranglerConfig } from "./wrangler-config.js";
export type { KvBinding } from "./wrangler-config.js";
export {
  createManifest,
  manifestKeys,
  resolvePrefix,
  bucketKeys,
  shardManifest,
  parseManifestRecord,
  viteFingerprint,
} from "./manifest.js";
export type { SyncedFile } from "./manifest.js";
export { hashBytes } from "./hash.js";
export { contentTypeOf, isCompressible } from "./content-type.js";
export { precompress } from "./precompress.js";
export { terminalProgress } from "./progress.js";
export { interruptible, signalExitCode } from "./signals.js";
export type { Interruptible } from "./signals.js";
export { KvAssetsError } from "./errors.js";
export { validateSyncOptions } from "./validate-options.js";
export { runCli } from "./cli.js";
