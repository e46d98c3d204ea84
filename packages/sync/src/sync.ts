// syncAssets: hash, read what storage holds, upload what it lacks, then publish the manifest.
import { fail } from "./errors.js";
import { hashSources } from "./hashing.js";
import { readTrusted } from "./history.js";
import { releaseLock, takeLock, waitForPrunes, type HeldLock } from "./locks.js";
import { targetOpener } from "./open-target.js";
import {
  resolveSyncOptions,
  type SyncOptions,
  type SyncResult,
  type SyncSettings,
} from "./options.js";
import { publishManifest } from "./publish.js";
import { readSiteRules } from "./site-rules.js";
import { describeSkipped, scanDirectory, type SkippedFile } from "./scan.js";
import { fromFolder, fromMemory, type Source } from "./sources.js";
import { syncFiles } from "./sync-files.js";
import type { KvTarget } from "./target.js";
import { createUploader, type Uploader } from "./upload.js";

/**
 * Publishes a folder (or in-memory files) to KV in four phases: hash every file, read what
 * storage holds, upload what it lacks, and only once all of it is confirmed written, publish the
 * manifest (history first, then the newest pointer). A failure at any point throws and publishes
 * nothing; re-running uploads only what is still missing.
 */
export async function syncAssets(options: SyncOptions): Promise<SyncResult> {
  const settings = resolveSyncOptions(options);
  const { logger } = settings;
  // Local KV takes a couple of seconds to start: scan and hash meanwhile, keeping no bytes.
  const opening = options.target
    ? Promise.resolve(options.target)
    : (await targetOpener(options))();
  opening.catch(() => {});
  let uploader: Uploader | undefined;
  const stopIfAborted = (): void => {
    if (!settings.signal?.aborted) return;
    const tally = uploader?.tally;
    const written = !tally?.confirmedKeys
      ? "no content was written"
      : `${tally.confirmedKeys} keys of new content (${formatBytes(tally.confirmedBytes)}) were written, which a re-run will not upload again`;
    fail(
      `interrupted by ${String(settings.signal.reason)}: nothing was published and ${written}; the previous deploy keeps serving`,
    );
  };
  let target: KvTarget | undefined;
  let lock: HeldLock | undefined;
  try {
    const sources = await listSources(options, settings);
    const rules = await readSiteRules(options, settings.basePath, logger);
    const hashed = await hashSources(sources.files, settings, stopIfAborted);

    target = await opening;
    stopIfAborted();
    lock = await announce(target, settings);
    const trusted = await readTrusted(target, settings);
    uploader = createUploader(target, trusted, settings, stopIfAborted);
    const files = await syncFiles(
      sources.files,
      hashed,
      trusted,
      uploader,
      settings,
      stopIfAborted,
    );

    stopIfAborted();
    const published = await publishManifest(
      target,
      files.synced,
      rules,
      trusted,
      uploader,
      settings,
    );
    // The manifest now names what the journal recorded; a failure here only leaves records that age out.
    const spent = [...trusted.journalRecords, ...uploader.journaled];
    if (spent.length > 0) await target.deleteMany(spent).catch(() => {});
    const stats: SyncResult["stats"] = {
      files: files.synced.length,
      newFiles: files.newFiles,
      uploadedKeys: uploader.tally.keys + published.records,
      uploadedBytes: uploader.tally.bytes,
      skipped: sources.skipped,
      target: target.description,
      durationMs: Date.now() - settings.started,
    };
    logger.info(summary(stats, uploader.tally.keys));
    return { manifest: published.manifest, stats };
  } finally {
    // Writes under way when something failed finish (or fail) before the lock is released.
    await uploader?.settled();
    if (lock && target) await releaseLock(target, lock);
    if (!options.target) await (target ?? (await opening.catch(() => undefined)))?.close();
  }
}

// The files to publish, with what was left out said, and an empty site refused unless allowed.
async function listSources(
  options: SyncOptions,
  settings: SyncSettings,
): Promise<{ files: Source[]; skipped: SkippedFile[] }> {
  const sources =
    options.files !== undefined
      ? fromMemory(options.files, options)
      : fromFolder(await scanDirectory(options.dir as string, options));
  for (const line of describeSkipped(sources.skipped)) settings.logger.warn(line);
  if (sources.files.length === 0 && !settings.allowEmpty) {
    const { skipped } = sources;
    const names = skipped
      .slice(0, 3)
      .map((s) => s.path)
      .join(", ");
    const left =
      skipped.length === 0
        ? ""
        : ` (${skipped.length} left out: ${names}${skipped.length > 3 ? ", ..." : ""})`;
    fail(
      `${options.dir ?? "the files given"} has no file to publish${left}; publishing it would replace the live site with an empty one. Build the site first, or pass allowEmpty (--allow-empty) to do that on purpose`,
    );
  }
  return sources;
}

// Announces this sync before it reads what it may trust, and lets a running prune finish first.
async function announce(target: KvTarget, settings: SyncSettings): Promise<HeldLock> {
  const { prefix, logger } = settings;
  const lock = await takeLock(target, prefix, "sync");
  await waitForPrunes(
    target,
    prefix,
    lock,
    (prunes) =>
      logger.info(
        `waiting for a prune of ${JSON.stringify(prefix)} that started ${new Date(prunes[0]!.started).toISOString()} to finish (its lock: ${prunes[0]!.key}; \`kv-assets unlock\` clears one left by a prune that died)`,
      ),
    (message) => logger.warn(message),
  );
  return lock;
}

function summary(stats: SyncResult["stats"], contentKeys: number): string {
  const { files, newFiles } = stats;
  return (
    `${files} files, ${newFiles} new (${formatBytes(stats.uploadedBytes)} in ${contentKeys} keys), ` +
    `${files - newFiles} unchanged, ${stats.skipped.length} left out; manifest published to ${stats.target} in ${stats.durationMs} ms`
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
