// pruneAssets: deletes content no recent deploy references, and the history records past `keep`.
import type { AssetManifest, ManifestIndex } from "@kv-assets/runtime";
import { describeError, fail } from "./errors.js";
import type { KvTarget } from "./target.js";
import {
  bucketKeys,
  historyKey,
  historyPrefix,
  isContentKey,
  latestManifestKey,
  manifestKeys,
  parseManifestRecord,
} from "./manifest.js";
import { openTarget, resolvePrefix, type SyncLogger, type SyncOptions } from "./sync.js";

/** Options of {@link pruneAssets}; where to connect is given as for a sync. */
export interface PruneOptions extends Pick<
  SyncOptions,
  | "prefix"
  | "project"
  | "binding"
  | "config"
  | "environment"
  | "cwd"
  | "remote"
  | "remoteOptions"
  | "persistTo"
  | "target"
  | "r2"
> {
  /**
   * Manifests (deploys) whose keys are kept; the newest is always kept.
   * @default 3
   */
  keep?: number;
  /**
   * Keys uploaded less than this many seconds ago are kept even when no manifest references them,
   * so a prune never deletes what a sync still running has uploaded but not yet published.
   * @default 3600
   */
  graceSeconds?: number;
  /**
   * List what would be deleted without deleting.
   * @default false
   */
  dryRun?: boolean;
  /** Where the summary goes. @default console */
  logger?: SyncLogger;
}

/** What a prune deleted (or would delete, in a dry run). */
export interface PruneResult {
  /** Content keys deleted. */
  deleted: string[];
  /** History records deleted. */
  deletedManifests: string[];
  /** Content keys kept because a kept manifest references them. */
  referenced: number;
  dryRun: boolean;
}

/** Parses a manifest record or a sharded pointer, or stops the prune naming the record. */
function parseRecord(name: string, text: string): AssetManifest | ManifestIndex {
  try {
    return parseManifestRecord(text);
  } catch (error) {
    fail(
      `manifest record ${name} is not valid (${describeError(error)}); prune stopped without deleting anything`,
    );
  }
}

/**
 * Deletes keys under the prefix that none of the newest `keep` manifests references. Run it after
 * a successful deploy. Refuses to run when a kept manifest cannot be read, since then it cannot
 * know what is still in use.
 */
export async function pruneAssets(options: PruneOptions = {}): Promise<PruneResult> {
  const prefix = resolvePrefix(options.prefix ?? "", options.project);
  const keep = options.keep ?? 3;
  const graceSeconds = options.graceSeconds ?? 3600;
  const dryRun = options.dryRun ?? false;
  const logger = options.logger ?? console;
  if (!Number.isInteger(keep) || keep < 1)
    fail(`keep must be a whole number of at least 1 (got ${keep})`);

  const target = options.target ?? (await openTarget(options));
  try {
    const history = (await target.list(historyPrefix(prefix))).map((k) => k.name).sort();
    const kept = history.slice(-keep);
    const dropped = history.slice(0, -keep);
    const latest = await target.getText(latestManifestKey(prefix));
    const records: { name: string; text: string | null }[] = kept.map((name) => ({
      name,
      text: null,
    }));
    const referenced = new Set<string>();
    const inBucket = new Set<string>();
    if (latest !== null) {
      // The newest pointer is read too: it may name a deploy whose history record is gone.
      const pointer = parseRecord(latestManifestKey(prefix), latest);
      if ("files" in pointer) {
        records.push({ name: latestManifestKey(prefix), text: latest });
      } else {
        // A sharded pointer names its files through the history record of the same sync.
        for (const hash of pointer.shards) referenced.add(pointer.prefix + hash);
        const name = historyKey(prefix, pointer.created ?? 0);
        if (!kept.includes(name)) records.push({ name, text: null });
      }
    }
    for (const record of records) {
      const text = record.text ?? (await target.getText(record.name));
      if (text === null) {
        fail(
          `manifest record ${record.name} is listed but cannot be read; prune stopped without deleting anything, try again`,
        );
      }
      const manifest = parseRecord(record.name, text);
      if (!("files" in manifest)) {
        fail(
          `manifest record ${record.name} is not a whole manifest; prune stopped without deleting anything`,
        );
      }
      for (const key of manifestKeys(manifest)) referenced.add(key);
      for (const key of bucketKeys(manifest)) inBucket.add(key);
    }
    if (history.length === 0 && latest === null) {
      logger.info(
        `[kv-assets] nothing to prune under ${JSON.stringify(prefix)}: no manifest has been published`,
      );
      return { deleted: [], deletedManifests: [], referenced: 0, dryRun };
    }

    const cutoff = Date.now() / 1000 - graceSeconds;
    const unreferenced = async (store: KvTarget, keep: Set<string>): Promise<string[]> =>
      (await store.list(prefix))
        .filter((key) => isContentKey(prefix, key.name) && !keep.has(key.name))
        .filter((key) => {
          const uploaded = (key.metadata as { t?: unknown } | undefined)?.t;
          return !(typeof uploaded === "number" && uploaded > cutoff);
        })
        .map((key) => key.name);
    const deleted = await unreferenced(target, referenced);
    const bucket = options.r2 ? target.bucket : undefined;
    const deletedInBucket = bucket ? await unreferenced(bucket, inBucket) : [];

    if (!dryRun) {
      await target.deleteMany(deleted);
      await bucket?.deleteMany(deletedInBucket);
      await target.deleteMany(dropped);
    }
    deleted.push(...deletedInBucket);
    logger.info(
      `[kv-assets] ${dryRun ? "would delete" : "deleted"} ${deleted.length} keys and ${dropped.length} old manifests; ` +
        `kept ${referenced.size} keys of the newest ${kept.length} manifests in ${target.description}`,
    );
    return { deleted, deletedManifests: dropped, referenced: referenced.size, dryRun };
  } finally {
    if (!options.target) await target.close();
  }
}
