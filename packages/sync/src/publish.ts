// The publish phase of a sync: once every body is confirmed written, the manifest is recorded,
// history first and the newest pointer last, with a large one's shards written before either.
import {
  contentKey,
  historyKey,
  KV_VALUE_LIMIT,
  pointerKey,
  previewKey,
} from "@kv-assets/runtime/format";
import type { AssetManifest } from "@kv-assets/runtime";
import { fail } from "./errors.js";
import type { Trusted } from "./history.js";
import { createManifest, shardManifest, type ManifestFile } from "@kv-assets/runtime/format";
import type { SyncSettings } from "./options.js";
import { retainedGroups } from "@kv-assets/runtime/format";
import type { SiteRules } from "./site-rules.js";
import type { KvTarget } from "./target.js";
import type { Uploader } from "./upload.js";

/** The manifest published, and how many manifest records were written for it. */
export interface Published {
  manifest: AssetManifest;
  records: number;
}

/**
 * Publishes the manifest of `synced`, with the site's rules and the files earlier deploys had
 * that are still retained. A deploy identical to the newest one adds no history record: the
 * newest pointer is written again (so it is right whatever happened to it) and names the same
 * record. A preview is one record of its own, whole. Nothing here stops for a signal: once
 * publishing has begun, it completes.
 */
export async function publishManifest(
  target: KvTarget,
  synced: ManifestFile[],
  rules: SiteRules,
  trusted: Pick<Trusted, "history" | "present" | "bucket">,
  uploader: Uploader,
  settings: Pick<
    SyncSettings,
    | "prefix"
    | "basePath"
    | "chunk"
    | "shardSize"
    | "started"
    | "retain"
    | "preview"
    | "earlyHints"
    | "acceptVariants"
  >,
): Promise<Published> {
  const { prefix, started } = settings;
  const manifest = createManifest(synced, {
    prefix,
    chunk: settings.chunk,
    created: started,
    basePath: settings.basePath,
    earlyHints: settings.earlyHints,
    acceptVariants: settings.acceptVariants,
  });
  if (rules.headers) manifest.headers = rules.headers;
  if (rules.redirects) manifest.redirects = rules.redirects;
  if (settings.preview !== undefined) {
    const json = JSON.stringify(manifest);
    checkSize(json);
    await target.putMany([{ key: previewKey(prefix, settings.preview), value: json }]);
    return { manifest, records: 1 };
  }
  const retained = retainedGroups(
    trusted.history[0],
    manifest,
    settings.retain,
    Math.floor(started / 1000),
    (key, inBucket) => (inBucket ? trusted.bucket?.present : trusted.present)?.has(key) ?? false,
  );
  if (retained.length > 0) manifest.retained = retained;
  let pointer: string | undefined;
  if (synced.length > settings.shardSize) {
    const sharded = await shardManifest(manifest, Math.ceil(synced.length / settings.shardSize));
    // Shards are content, written before anything names them; the runtime reads them whole, so
    // they are never split into parts.
    const shards = sharded.shards.filter((s) => !trusted.present.has(contentKey(prefix, s.hash)));
    for (const shard of shards) trusted.present.add(contentKey(prefix, shard.hash));
    uploader.tally.keys += shards.length;
    await target.putMany(
      shards.map((shard) => ({
        key: contentKey(prefix, shard.hash),
        value: shard.text,
        metadata: { t: Math.floor(started / 1000) },
      })),
    );
    manifest.shards = sharded.index.shards;
    pointer = JSON.stringify(sharded.index);
  }

  const previous = trusted.history[0];
  if (
    previous &&
    JSON.stringify({ ...manifest, created: previous.created }) === JSON.stringify(previous)
  ) {
    const { files: _files, ...index } = previous;
    const value = JSON.stringify(previous.shards ? index : previous);
    await target.putMany([{ key: pointerKey(prefix), value }]);
    return { manifest: previous, records: 1 };
  }

  const json = JSON.stringify(manifest);
  checkSize(json);
  await target.putMany([{ key: historyKey(prefix, started), value: json }]);
  await target.putMany([{ key: pointerKey(prefix), value: pointer ?? json }]);
  return { manifest, records: 2 };
}

function checkSize(json: string): void {
  if (json.length > KV_VALUE_LIMIT) {
    fail(
      `the manifest is ${json.length} bytes, over KV's 25 MiB value limit; split the site with prefix or project`,
    );
  }
}
