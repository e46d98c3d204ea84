// What a sync may rely on: the manifest history, and the keys storage is known to hold.
import {
  bucketKeys,
  filesByHash,
  historyRecords,
  isContentKey,
  manifestKeys,
  type KnownFile,
} from "@kv-assets/runtime/format";
import type { AssetManifest } from "@kv-assets/runtime";
import { describeError, fail } from "./errors.js";
import { readJournal } from "./journal.js";
import { parseManifest } from "./manifest.js";
import type { SyncLogger, SyncSettings } from "./options.js";
import type { KvTarget } from "./target.js";

/** What a sync may rely on storage to hold, read once its lock is taken. */
export interface Trusted {
  /** The newest `keep` manifests, newest first. */
  history: AssetManifest[];
  /** Last-Modified and variants of the files of the trusted manifests, by content hash (the newest first). */
  known: Map<string, KnownFile>;
  /** KV keys known to be stored. */
  present: Set<string>;
  /** The R2 bucket, when the sync puts large files there, and the keys known to be in it. */
  bucket: { target: KvTarget; present: Set<string> } | undefined;
  /** Journal records of earlier syncs, which this one's manifest makes spent. */
  journalRecords: string[];
}

/** Reads what `target` holds for the site: history, keys present, and (remotely) the journal. */
export async function readTrusted(
  target: KvTarget,
  settings: Pick<SyncSettings, "prefix" | "keep" | "logger" | "r2">,
): Promise<Trusted> {
  const { prefix } = settings;
  const history = await readHistory(target, prefix, settings.keep, settings.logger);
  const present = await presentKeys(target, prefix, history, manifestKeys);
  // Remotely, keys a sync that was interrupted had confirmed are in the journal; trust them too.
  const journal = target.remote
    ? await readJournal(target, prefix, RECENT_UPLOAD_SECONDS * 1000)
    : { keys: new Set<string>(), records: [] };
  for (const key of journal.keys) present.add(key);
  let bucket: Trusted["bucket"];
  if (settings.r2) {
    if (!target.bucket) fail(`the target ${target.description} has no R2 bucket for the r2 option`);
    bucket = {
      target: target.bucket,
      present: await presentKeys(target.bucket, prefix, history, bucketKeys),
    };
  }
  return {
    history,
    known: knownFiles(history),
    present,
    bucket,
    journalRecords: journal.records,
  };
}

// Files by content hash over the trusted manifests, the newest manifest's first: content an
// earlier deploy had gets its Last-Modified and variants back, so it is not compressed again.
function knownFiles(history: AssetManifest[]): Trusted["known"] {
  const known: Trusted["known"] = new Map();
  for (const manifest of history) {
    for (const [hash, file] of filesByHash(manifest)) if (!known.has(hash)) known.set(hash, file);
  }
  return known;
}

/** Keys uploaded less than this long ago count as present even when no manifest references them yet. */
export const RECENT_UPLOAD_SECONDS = 30 * 60;

/** Reads the newest `keep` manifests of the history, newest first; unreadable records are skipped with a warning. */
export async function readHistory(
  target: KvTarget,
  prefix: string,
  keep: number,
  logger: SyncLogger,
): Promise<AssetManifest[]> {
  const names = await historyRecords(target, prefix);
  const recent = names.slice(-keep).reverse();
  const manifests: AssetManifest[] = [];
  for (const name of recent) {
    const text = await target.getText(name);
    if (text === null) continue;
    try {
      manifests.push(parseManifest(text));
    } catch (error) {
      logger.warn(`ignoring manifest record ${name}: ${describeError(error)}`);
    }
  }
  return manifests;
}

// Which keys can be relied on without uploading them again. Keys of recent manifests were
// confirmed written and prune keeps them. Locally, listing is free, so keys uploaded in the last
// half hour count too (an interrupted sync resumes without uploading them again); an older
// unreferenced key may be pruned at any time, so it is uploaded again rather than trusted.
export async function presentKeys(
  target: KvTarget,
  prefix: string,
  history: AssetManifest[],
  keysOf: (manifest: AssetManifest) => Set<string>,
): Promise<Set<string>> {
  const referenced = new Set<string>();
  for (const manifest of history) for (const key of keysOf(manifest)) referenced.add(key);
  if (target.remote && history.length > 0) return referenced;
  const cutoff = Date.now() / 1000 - RECENT_UPLOAD_SECONDS;
  const present = new Set<string>();
  for (const key of await target.list(prefix)) {
    if (!isContentKey(prefix, key.name)) continue;
    const uploaded = (key.metadata as { t?: unknown } | undefined)?.t;
    if (referenced.has(key.name) || (typeof uploaded === "number" && uploaded > cutoff))
      present.add(key.name);
  }
  return present;
}
