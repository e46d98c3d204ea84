// Public API of @kv-assets/runtime: serving files, loading manifests, and the storage adapters.
// The manifest format and key layout, for tools, are in @kv-assets/runtime/format.
export { serveAsset, createAssetHandler } from "./serve.js";
export type { ServeAssetOptions, NotFoundHandling, AssetHandler, RequestContext } from "./serve.js";
export type { HtmlHandling } from "./html.js";
export type { HeaderRule } from "./headers-file.js";
export type { RedirectRule, RedirectStatus } from "./redirects-file.js";
export { loadManifest } from "./load-manifest.js";
export type { LoadManifestOptions, ManifestStorage } from "./load-manifest.js";
export { createPullThrough } from "./pull-through.js";
export type { PullThroughOptions, PullThroughStorage } from "./pull-through.js";
export { r2Storage } from "./r2.js";
export type { BucketLike } from "./r2.js";
export type { AssetStorage } from "./storage.js";
export type { ByteRange } from "./range.js";
export { validateManifest } from "./manifest.js";
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
} from "./manifest.js";
export { readManifestText } from "./packed.js";
export type { PackedManifest } from "./packed.js";
