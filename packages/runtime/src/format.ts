// @kv-assets/runtime/format: the manifest format and the namespace's key layout, shared with the
// sync engine and the Vite plugin (one implementation of each), for tools that write or read them.
export {
  getAsset,
  hasAsset,
  validateManifest,
  validateManifestIndex,
  validateManifestRecord,
  validateShard,
  shardOf,
  toAsset,
  MANIFEST_VERSION,
  KV_VALUE_LIMIT,
  FLAG_IMMUTABLE,
  FLAG_BUCKET,
  linkOf,
  alternatePath,
  CONTENT_ENCODINGS,
} from "./manifest.js";
export type {
  AssetManifest,
  ManifestEntry,
  ManifestVariant,
  ManifestIndex,
  ManifestSource,
  ShardedManifest,
  ContentEncoding,
  Asset,
  AssetVariant,
  AssetAlternate,
  EntryMore,
  RetainedFiles,
  PageLinks,
} from "./manifest.js";
export {
  createManifest,
  alternatesOf,
  filesByHash,
  shardManifest,
  tableIndex,
  viteFingerprint,
} from "./build-manifest.js";
export { manifestKeys, bucketKeys, isStored } from "./manifest-keys.js";
export { retainedGroups, DEFAULT_RETAIN } from "./retain.js";
export {
  planPrune,
  parseRecord,
  PruneStopped,
  historyRecords,
  previewRecords,
} from "./prune-plan.js";
export type { PrunePlan, PrunePlanOptions, PruneSource } from "./prune-plan.js";
export type { RetainSettings } from "./retain.js";
export type { KnownFile, ManifestFile } from "./build-manifest.js";
export { parseHeadersFile, MAX_HEADER_RULES } from "./headers-file.js";
export type { HeaderRule } from "./headers-file.js";
export { MAX_RULE_LINE } from "./rules-file.js";
export type { ParsedRules, RuleProblem } from "./rules-file.js";
export {
  parseRedirectsFile,
  MAX_STATIC_REDIRECTS,
  MAX_DYNAMIC_REDIRECTS,
} from "./redirects-file.js";
export type { RedirectRule, RedirectStatus } from "./redirects-file.js";
export {
  packManifest,
  unpackManifest,
  findPacked,
  manifestText,
  readManifestText,
} from "./packed.js";
export type { PackedManifest } from "./packed.js";
export {
  KV_KEY_LIMIT,
  contentKey,
  partKeys,
  isContentKey,
  pointerKey,
  historyFolder,
  historyKey,
  historyTime,
  lockFolder,
  lockKey,
  parseLockKey,
  journalFolder,
  journalKey,
  journalTime,
  previewFolder,
  previewKey,
  previewName,
  uploadKey,
  isPreviewName,
  copyKey,
  projectPrefix,
  isProjectId,
  longestKey,
  timeName,
} from "./keys.js";
export type { LockKind } from "./keys.js";
export { HEARTBEAT_MS, PRUNE_DEADLINE_MS, STALE_MS, lockExpired } from "./lock-times.js";
export { decodePath, encodePath } from "./path.js";
