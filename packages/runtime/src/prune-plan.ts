// What a prune deletes, worked out the same way wherever it runs (the CLI in Node, a platform's
// Worker on a Cron Trigger): content no kept deploy names and older than the grace period, and the
// history records past `keep`.

import { manifestKeys, bucketKeys } from "./manifest-keys.js";
import {
  contentKey,
  historyFolder,
  historyKey,
  historyTime,
  isContentKey,
  journalFolder,
  journalTime,
  pointerKey,
  previewFolder,
  previewName,
} from "./keys.js";
import { validateManifestRecord, type AssetManifest, type ManifestIndex } from "./manifest.js";

/** What a prune reads of a namespace (or of the R2 bucket beside it). */
export interface PruneSource {
  /** Every key under `prefix`, with its metadata. */
  list(prefix: string): Promise<{ name: string; metadata?: unknown }[]>;
  getText(key: string): Promise<string | null>;
}

/** Options of {@link planPrune}. */
export interface PrunePlanOptions {
  /** Deploys whose keys are kept; the newest is always kept. */
  keep: number;
  /** Content uploaded this recently is kept even when no kept deploy names it. */
  graceSeconds: number;
  /** A publish is running: keep the keys of every deploy and every history record. */
  careful: boolean;
  /** Seconds a running publish trusts recent uploads; spared too when `careful`. */
  recentUploadSeconds: number;
  /** The R2 bucket beside the namespace, when the site keeps files there. */
  bucket?: PruneSource;
}

/** What a prune would delete, and what it keeps. */
export interface PrunePlan {
  /** Whether the site ever published (a history record or a pointer). */
  published: boolean;
  /** Content keys to delete, in the namespace and in the bucket. */
  deleted: string[];
  deletedInBucket: string[];
  /** History records past `keep`, deleted after the content. */
  dropped: string[];
  /** Upload journal records, deleted first (a resuming sync trusts what they list). */
  journal: string[];
  /** Content keys a kept deploy references. */
  referenced: Set<string>;
  /** The history records kept. */
  kept: string[];
}

/** A prune that cannot know what is in use: nothing may be deleted. */
export class PruneStopped extends Error {
  override name = "PruneStopped";
}

/**
 * Works out what to delete under `prefix`: content that none of the newest `keep` history
 * records, the pointer, the previews and the retained files still served reference, and that was
 * uploaded longer than `graceSeconds` ago. Reads only; throws {@link PruneStopped} when a kept
 * record cannot be read, since then nothing can be known to be unused.
 */
export async function planPrune(
  source: PruneSource,
  prefix: string,
  options: PrunePlanOptions,
): Promise<PrunePlan> {
  const { keep, careful } = options;
  const history = await historyRecords(source, prefix);
  const kept = careful ? history : history.slice(-keep);
  const dropped = careful ? [] : history.slice(0, -keep);
  const latest = await source.getText(pointerKey(prefix));
  const records: { name: string; text: string | null }[] = kept.map((name) => ({
    name,
    text: null,
  }));
  const referenced = new Set<string>();
  const inBucket = new Set<string>();
  if (latest !== null) {
    // The newest pointer is read too: it may name a deploy whose history record is gone.
    const pointer = parseRecord(pointerKey(prefix), latest);
    if ("files" in pointer) {
      records.push({ name: pointerKey(prefix), text: latest });
    } else {
      // A sharded pointer names its files through the history record of the same sync.
      for (const hash of pointer.shards) referenced.add(contentKey(pointer.prefix, hash));
      const name = historyKey(prefix, pointer.created ?? 0);
      if (!kept.includes(name)) records.push({ name, text: null });
    }
  }
  // Previews are live too, each until it is replaced or removed.
  for (const { key } of await previewRecords(source, prefix)) {
    records.push({ name: key, text: null });
  }
  for (const record of records) {
    const manifest = await readWhole(source, record.name, record.text);
    for (const key of manifestKeys(manifest)) referenced.add(key);
    for (const key of bucketKeys(manifest)) inBucket.add(key);
  }
  const published = history.length > 0 || latest !== null;

  // A running publish also trusts keys it listed as uploaded recently, so spare at least those.
  const cutoff =
    Date.now() / 1000 -
    (careful ? Math.max(options.graceSeconds, options.recentUploadSeconds) : options.graceSeconds);
  const unreferenced = async (store: PruneSource, keepKeys: Set<string>): Promise<string[]> =>
    (await store.list(prefix))
      .filter((key) => isContentKey(prefix, key.name) && !keepKeys.has(key.name))
      .filter((key) => {
        const uploaded = (key.metadata as { t?: unknown } | undefined)?.t;
        return !(typeof uploaded === "number" && uploaded > cutoff);
      })
      .map((key) => key.name);
  const journal = careful
    ? []
    : (await source.list(journalFolder(prefix)))
        .map((key) => key.name)
        .filter((name) => journalTime(prefix, name) !== undefined);
  return {
    published,
    deleted: published ? await unreferenced(source, referenced) : [],
    deletedInBucket:
      published && options.bucket ? await unreferenced(options.bucket, inBucket) : [],
    dropped,
    journal,
    referenced,
    kept,
  };
}

/** Names of the site's history records, oldest first; keys of other sites under the folder are left out. */
export async function historyRecords(source: PruneSource, prefix: string): Promise<string[]> {
  return (await source.list(historyFolder(prefix)))
    .map((key) => key.name)
    .filter((name) => historyTime(prefix, name) !== undefined)
    .sort();
}

/** The site's preview records, by name; keys of other sites under the folder are left out. */
export async function previewRecords(
  source: PruneSource,
  prefix: string,
): Promise<{ name: string; key: string }[]> {
  return (await source.list(previewFolder(prefix))).flatMap(({ name: key }) => {
    const name = previewName(prefix, key);
    return name === undefined ? [] : [{ name, key }];
  });
}

/** Parses a manifest record or a sharded pointer, or stops the prune naming the record. */
export function parseRecord(name: string, text: string): AssetManifest | ManifestIndex {
  let value: unknown;
  let problem: string | undefined;
  try {
    value = JSON.parse(text);
    problem = validateManifestRecord(value).problem;
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  if (problem !== undefined) {
    throw new PruneStopped(
      `manifest record ${name} is not valid (${problem}); prune stopped without deleting anything`,
    );
  }
  return value as AssetManifest | ManifestIndex;
}

// Reads a kept manifest record whole, or stops the prune naming the record.
async function readWhole(
  source: PruneSource,
  name: string,
  text: string | null,
): Promise<AssetManifest> {
  const read = text ?? (await source.getText(name));
  if (read === null) {
    throw new PruneStopped(
      `manifest record ${name} is listed but cannot be read; prune stopped without deleting anything, try again`,
    );
  }
  const manifest = parseRecord(name, read);
  if (!("files" in manifest)) {
    throw new PruneStopped(
      `manifest record ${name} is not a whole manifest; prune stopped without deleting anything`,
    );
  }
  return manifest;
}
