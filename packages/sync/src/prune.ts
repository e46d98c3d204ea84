// pruneAssets: deletes content no recent deploy references, and the history records past `keep`.
import { bucketKeys, manifestKeys, planPrune, PruneStopped } from "@kv-assets/runtime/format";
import type { AssetManifest, ManifestIndex } from "@kv-assets/runtime";
import { fail, packageLogger } from "./errors.js";
import { RECENT_UPLOAD_SECONDS } from "./history.js";
import {
  activeLocks,
  describeLock,
  PRUNE_DEADLINE_MS,
  releaseLock,
  takeLock,
  type HeldLock,
  type Lock,
} from "./locks.js";
import { parseManifestRecord, resolvePrefix } from "./manifest.js";
import { openTarget } from "./open-target.js";
import type { SyncLogger, SyncOptions } from "./options.js";
import { validateSyncOptions } from "./validate-options.js";
import type { KvTarget } from "./target.js";

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
  /** Stops the prune when aborted; it is checked last just before deleting, so nothing is deleted. */
  signal?: AbortSignal;
}

/** What a prune deleted (or would delete, in a dry run). */
export interface PruneResult {
  /** Content keys deleted. */
  deleted: string[];
  /** History records deleted. */
  deletedManifests: string[];
  /** Content keys kept because a kept manifest references them. */
  referenced: number;
  /**
   * In a dry run, the paths each deleted key was published as in the history records the prune
   * would delete; a key no such record names (left by a sync that never published) has none.
   */
  paths?: Record<string, string[]>;
  dryRun: boolean;
}

// The paths the keys a prune deletes were published as, read from the records it deletes.
async function pathsOf(
  target: KvTarget,
  records: string[],
  keys: Set<string>,
): Promise<Record<string, string[]>> {
  const paths: Record<string, string[]> = {};
  for (const name of records) {
    const text = await target.getText(name);
    const manifest = text === null ? undefined : safeParse(text);
    if (!manifest || !("files" in manifest)) continue;
    for (const [path, entry] of Object.entries(manifest.files)) {
      const one = { ...manifest, shards: undefined, files: { [path]: entry } };
      for (const key of [...manifestKeys(one), ...bucketKeys(one)]) {
        if (!keys.has(key)) continue;
        const list = (paths[key] ??= []);
        if (!list.includes(path)) list.push(path);
      }
    }
  }
  return paths;
}

function safeParse(text: string): AssetManifest | ManifestIndex | undefined {
  try {
    return parseManifestRecord(text);
  } catch {
    return undefined;
  }
}

/**
 * Deletes keys under the prefix that none of the newest `keep` manifests references. Run it after
 * a successful deploy. Refuses to run when a kept manifest cannot be read, since then it cannot
 * know what is still in use.
 */
export async function pruneAssets(options: PruneOptions = {}): Promise<PruneResult> {
  validateSyncOptions(options as Record<string, unknown>);
  const prefix = resolvePrefix(options.prefix ?? "", options.project);
  const keep = options.keep ?? 3;
  const graceSeconds = options.graceSeconds ?? 3600;
  const dryRun = options.dryRun ?? false;
  const logger = packageLogger(options.logger ?? console);

  const target = options.target ?? (await openTarget(options));
  const runningSyncs = async (own: Lock | undefined): Promise<Lock[]> =>
    (await activeLocks(target, prefix, own, (m) => logger.info(m), { dryRun })).filter(
      (l) => l.kind === "sync",
    );
  let lock: HeldLock | undefined;
  try {
    // Announce this prune before looking for syncs: a sync that starts later waits for it, and one
    // already running makes it keep every manifest's keys. A dry run announces nothing but looks
    // for syncs all the same, so it reports what this prune would do now.
    lock = dryRun ? undefined : await takeLock(target, prefix, "prune");
    const syncs = await runningSyncs(lock);
    const careful = syncs.length > 0;
    if (careful) {
      logger.info(
        `a sync of ${JSON.stringify(prefix)} is running (${describeLock(syncs[0]!)}); keeping the keys of every manifest and every history record`,
      );
    }
    const bucket = options.r2 ? target.bucket : undefined;
    let plan;
    try {
      plan = await planPrune(target, prefix, {
        keep,
        graceSeconds,
        careful,
        recentUploadSeconds: RECENT_UPLOAD_SECONDS,
        ...(bucket ? { bucket } : {}),
      });
    } catch (error) {
      if (error instanceof PruneStopped) fail(error.message);
      throw error;
    }
    const { deleted, deletedInBucket, dropped, referenced, kept } = plan;
    if (!plan.published) {
      logger.info(
        `nothing to prune under ${JSON.stringify(prefix)}: no manifest has been published`,
      );
      return { deleted: [], deletedManifests: [], referenced: 0, dryRun };
    }

    if (options.signal?.aborted) {
      fail(
        `interrupted by ${String(options.signal.reason)} before deleting anything; nothing was deleted`,
      );
    }
    if (lock) {
      // Delete only if no sync started meanwhile (it may have decided to reuse any of these keys),
      // and only before the deadline after which a sync stops waiting for this prune.
      const known = new Set(syncs.map((l) => l.key));
      const started = (await runningSyncs(lock)).filter((l) => !known.has(l.key));
      if (started.length > 0) {
        logger.warn(
          `a sync of ${JSON.stringify(prefix)} started while pruning; deleted nothing, run prune again once it has finished`,
        );
        return { deleted: [], deletedManifests: [], referenced: referenced.size, dryRun };
      }
      if (Date.now() - lock.started > PRUNE_DEADLINE_MS) {
        fail(
          `prune took longer than ${PRUNE_DEADLINE_MS / 60000} minutes before deleting; deleted nothing, run it again`,
        );
      }
      // A resuming sync trusts the keys its journal lists; drop the journal before what it names.
      await target.deleteMany(plan.journal);
      await target.deleteMany(deleted);
      await bucket?.deleteMany(deletedInBucket);
      await target.deleteMany(dropped);
    }
    deleted.push(...deletedInBucket);
    logger.info(
      `${dryRun ? "would delete" : "deleted"} ${deleted.length} keys and ${dropped.length} old manifests; ` +
        `kept ${referenced.size} keys of the newest ${kept.length} manifests in ${target.description}`,
    );
    const result: PruneResult = {
      deleted,
      deletedManifests: dropped,
      referenced: referenced.size,
      dryRun,
    };
    if (dryRun) result.paths = await pathsOf(target, dropped, new Set(deleted));
    return result;
  } finally {
    if (lock) await releaseLock(target, lock);
    if (!options.target) await target.close();
  }
}
