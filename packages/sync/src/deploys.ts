// The deploys of a site: list them, make an earlier one live again, and remove previews.
import { historyTime, pointerKey, previewKey } from "@kv-assets/runtime/format";
import type { AssetManifest, ManifestIndex } from "@kv-assets/runtime";
import { describeError, fail, packageLogger } from "./errors.js";
import { releaseLock, takeLock, waitForPrunes } from "./locks.js";
import {
  bucketKeys,
  historyRecords,
  isStored,
  manifestKeys,
  previewRecords,
} from "@kv-assets/runtime/format";
import { parseManifestRecord } from "./manifest.js";
import { withTarget } from "./open-target.js";
import type { PruneOptions } from "./prune.js";
import type { KvTarget } from "./target.js";
import { validateSyncOptions } from "./validate-options.js";

/** Options of {@link listDeploys}, {@link rollbackDeploy} and {@link removePreview}: where to connect, as for a prune. */
export type DeployOptions = Omit<PruneOptions, "keep" | "graceSeconds" | "dryRun">;

/** One published deploy of the history, newest first in {@link listDeploys}. */
export interface Deploy {
  /** When its sync ran (ms since the epoch); also what `rollback` takes to name it. */
  created: number;
  files: number;
  /** Against the deploy before it: paths added, removed, and served with other content. */
  added: number;
  removed: number;
  changed: number;
  /** Whether it is what the site serves now (the newest pointer names it). */
  live: boolean;
}

/** A preview: its name, when it was published and how many files it has. */
export interface Preview {
  name: string;
  created: number;
  files: number;
}

/** The deploys of the site's history (newest first) and its previews. */
export async function listDeploys(
  options: DeployOptions = {},
): Promise<{ deploys: Deploy[]; previews: Preview[] }> {
  return withTarget(options, async (target, prefix) => {
    const records = await readRecords(target, prefix);
    const live = await liveCreated(target, prefix);
    const deploys = records.map((manifest, i): Deploy => {
      const before = records[i + 1]?.files ?? {};
      const paths = Object.keys(manifest.files);
      return {
        created: manifest.created ?? 0,
        files: paths.length,
        added: paths.filter((p) => !Object.hasOwn(before, p)).length,
        removed: Object.keys(before).filter((p) => !Object.hasOwn(manifest.files, p)).length,
        changed: paths.filter(
          (p) => Object.hasOwn(before, p) && before[p]![0] !== manifest.files[p]![0],
        ).length,
        live: manifest.created === live,
      };
    });
    const previews: Preview[] = [];
    for (const { name, key } of await previewRecords(target, prefix)) {
      const text = await target.getText(key);
      if (text === null) continue;
      const manifest = parseOrFail(key, text);
      previews.push({
        name,
        created: manifest.created ?? 0,
        files: Object.keys(manifest.files).length,
      });
    }
    return { deploys, previews };
  });
}

/**
 * Makes a deploy of the history live again in one write of the newest pointer: the deploy
 * created at `created` (ms), or by default the one before the live one. Refuses when storage no
 * longer holds every key it needs (a prune deleted them); retained files whose keys are gone are
 * left out. Waits for a running prune, and holds the sync lock while it checks and writes.
 */
export async function rollbackDeploy(
  options: DeployOptions & { created?: number } = {},
): Promise<{ manifest: AssetManifest }> {
  const logger = packageLogger(options.logger ?? console);
  return withTarget(options, async (target, prefix) => {
    const lock = await takeLock(target, prefix, "sync");
    try {
      await waitForPrunes(
        target,
        prefix,
        lock,
        () => logger.info(`waiting for a prune of ${JSON.stringify(prefix)} to finish`),
        (message) => logger.warn(message),
      );
      const records = await readRecords(target, prefix);
      const live = await liveCreated(target, prefix);
      const at = records.findIndex((m) => m.created === live);
      const chosen =
        options.created === undefined
          ? records[at === -1 ? 1 : at + 1]
          : records.find((m) => m.created === options.created);
      if (chosen === undefined) {
        fail(
          options.created === undefined
            ? `no deploy before the live one is kept under ${JSON.stringify(prefix)}; see kv-assets deploys`
            : `no deploy of ${options.created} is kept under ${JSON.stringify(prefix)}; see kv-assets deploys for the ones there are`,
        );
      }
      const stored = new Set((await target.list(prefix)).map((key) => key.name));
      const storedInBucket = target.bucket
        ? new Set((await target.bucket.list(prefix)).map((key) => key.name))
        : undefined;
      const manifest = withPresentRetained(chosen, stored, storedInBucket);
      const missing = [...manifestKeys(manifest)].filter((key) => !stored.has(key));
      if (storedInBucket)
        missing.push(...[...bucketKeys(manifest)].filter((k) => !storedInBucket.has(k)));
      if (missing.length > 0) {
        fail(
          `the deploy of ${new Date(chosen.created ?? 0).toISOString()} needs ${missing.length} keys that are gone (pruned), e.g. ${missing[0]}; the live deploy was left as it is`,
        );
      }
      const { files: _files, ...index } = manifest;
      const value = JSON.stringify(manifest.shards ? (index as ManifestIndex) : manifest);
      await target.putMany([{ key: pointerKey(prefix), value }]);
      logger.info(
        `the deploy of ${new Date(chosen.created ?? 0).toISOString()} (${Object.keys(chosen.files).length} files) is live again in ${target.description}. ` +
          "Workers that read it with loadManifest serve it within about 35 seconds; a Worker with the manifest compiled in (the Vite plugin, or sync --out) keeps its own: roll that Worker back too (wrangler rollback), its files are kept while prune keeps this deploy",
      );
      return { manifest };
    } finally {
      await releaseLock(target, lock);
    }
  });
}

/** Removes a preview's manifest; the next prune deletes the files only it used. */
export async function removePreview(options: DeployOptions & { name: string }): Promise<void> {
  const logger = packageLogger(options.logger ?? console);
  validateSyncOptions({ preview: options.name });
  return withTarget(options, async (target, prefix) => {
    const key = previewKey(prefix, options.name);
    if ((await target.getText(key)) === null) {
      fail(
        `there is no preview ${JSON.stringify(options.name)} under ${JSON.stringify(prefix)}; see kv-assets deploys`,
      );
    }
    await target.deleteMany([key]);
    logger.info(
      `removed the preview ${options.name}; run kv-assets prune to delete the files only it used`,
    );
  });
}

// Every readable history record, newest first.
async function readRecords(target: KvTarget, prefix: string): Promise<AssetManifest[]> {
  const names = (await historyRecords(target, prefix)).reverse();
  const records: AssetManifest[] = [];
  for (const name of names) {
    const text = await target.getText(name);
    if (text === null) continue;
    const manifest = parseOrFail(name, text);
    records.push({ ...manifest, created: manifest.created ?? historyTime(prefix, name) });
  }
  return records;
}

async function liveCreated(target: KvTarget, prefix: string): Promise<number | undefined> {
  const text = await target.getText(pointerKey(prefix));
  return text === null ? undefined : parseOrFailRecord(pointerKey(prefix), text).created;
}

// The manifest with only the retained files whose keys storage still holds.
function withPresentRetained(
  manifest: AssetManifest,
  stored: Set<string>,
  storedInBucket: Set<string> | undefined,
): AssetManifest {
  if (!manifest.retained) return manifest;
  const retained = manifest.retained
    .map((group) => ({
      until: group.until,
      files: Object.fromEntries(
        Object.entries(group.files).filter(([path, entry]) =>
          isStored(manifest, path, entry, (key, inBucket) =>
            inBucket ? (storedInBucket?.has(key) ?? false) : stored.has(key),
          ),
        ),
      ),
    }))
    .filter((group) => Object.keys(group.files).length > 0);
  const { retained: _retained, ...rest } = manifest;
  return retained.length > 0 ? { ...rest, retained } : rest;
}

function parseOrFail(name: string, text: string): AssetManifest {
  const record = parseOrFailRecord(name, text);
  if (!("files" in record)) fail(`record ${name} is not a whole manifest`);
  return record;
}

function parseOrFailRecord(name: string, text: string): AssetManifest | ManifestIndex {
  try {
    return parseManifestRecord(text);
  } catch (error) {
    fail(`record ${name} is not a valid manifest (${describeError(error)})`);
  }
}
