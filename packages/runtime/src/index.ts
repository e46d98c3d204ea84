// Public API of @kv-assets/runtime.
export { serveAsset, createAssetHandler, defaultCacheControl, isNavigation } from "./serve.js";
export type { ServeAssetOptions, NotFoundHandling, AssetHandler, RequestContext } from "./serve.js";
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
} from "./manifest.js";
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
  projectPrefix,
  isProjectId,
  longestKey,
  timeName,
} from "./keys.js";
export type { LockKind } from "./keys.js";
export type { AssetStorage } from "./storage.js";
export { withEdgeCache } from "./edge-cache.js";
export { resolveHtml } from "./html.js";
export type { HtmlHandling, HtmlResolution } from "./html.js";
export { decodePath, encodePath } from "./path.js";
export {
  evaluatePreconditions,
  matchesEntityTag,
  parseEntityTags,
  parseHttpDate,
  formatHttpDate,
} from "./conditional.js";
export type { PreconditionResult, Validators } from "./conditional.js";
export { parseRange, ifRangeAllows, contentRange, MAX_RANGES } from "./range.js";
export type { ByteRange, RangeResult } from "./range.js";
export { negotiateEncoding, parseAcceptEncoding } from "./encoding.js";
export { loadManifest, manifestPrefix } from "./load-manifest.js";
export type { LoadManifestOptions, ManifestStorage } from "./load-manifest.js";
export { createPullThrough } from "./pull-through.js";
export type { PullThroughOptions, PullThroughStorage } from "./pull-through.js";
export { r2Storage } from "./r2.js";
export type { BucketLike } from "./r2.js";
