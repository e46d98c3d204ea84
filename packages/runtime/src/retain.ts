// Retention: fingerprinted files the previous deploy had and this one dropped stay served for a while, so open pages keep loading their chunks.
import { tableIndex } from "./build-manifest.js";
import {
  FLAG_IMMUTABLE,
  type AssetManifest,
  type EntryMore,
  type ManifestEntry,
  type RetainedFiles,
} from "./manifest.js";
import { isStored } from "./manifest-keys.js";

/** How long files a deploy dropped stay served: for `deploys` more deploys, and at most `seconds`. */
export interface RetainSettings {
  deploys: number;
  seconds: number;
}

/** The default window: 10 deploys, and 7 days. */
export const DEFAULT_RETAIN: RetainSettings = { deploys: 10, seconds: 7 * 24 * 3600 };

/**
 * The retained groups of `next`: the fingerprinted files of `previous` that `next` drops (until
 * `now` + `seconds`), then the groups `previous` retained whose time is not up, at most
 * `deploys` groups. Only files whose every key `present` confirms are kept. Entries are rewritten
 * against `next`'s tables, which grow as needed.
 */
export function retainedGroups(
  previous: AssetManifest | undefined,
  next: AssetManifest,
  retain: RetainSettings,
  now: number,
  present: (key: string, inBucket: boolean) => boolean,
): RetainedFiles[] {
  if (previous === undefined || retain.deploys === 0 || retain.seconds === 0) return [];
  const taken = new Set(Object.keys(next.files));
  const keep = (path: string, entry: ManifestEntry): boolean =>
    !taken.has(path) && isStored(previous, path, entry, present);
  const groups: RetainedFiles[] = [];
  const dropped: Record<string, ManifestEntry> = {};
  for (const [path, entry] of Object.entries(previous.files)) {
    if ((entry[4] & FLAG_IMMUTABLE) !== 0 && keep(path, entry)) dropped[path] = entry;
  }
  for (const path of Object.keys(dropped)) taken.add(path);
  if (Object.keys(dropped).length > 0) groups.push({ until: now + retain.seconds, files: dropped });
  for (const group of previous.retained ?? []) {
    if (group.until <= now) continue;
    const files: Record<string, ManifestEntry> = {};
    for (const [path, entry] of Object.entries(group.files)) {
      if (keep(path, entry)) files[path] = entry;
    }
    for (const path of Object.keys(files)) taken.add(path);
    if (Object.keys(files).length > 0) groups.push({ until: group.until, files });
  }
  return groups.slice(0, retain.deploys).map((group) => ({
    until: group.until,
    files: Object.fromEntries(
      Object.entries(group.files).map(([path, entry]) => [path, remap(entry, previous, next)]),
    ),
  }));
}

// An entry of `from` with its type and time indices (its alternates' types too) pointing into
// `to`'s tables; its digest and alternates kept.
function remap(entry: ManifestEntry, from: AssetManifest, to: AssetManifest): ManifestEntry {
  const [hash, size, type, time, flags, variants, more] = entry;
  const typeIn = (index: number): number =>
    tableIndex(to.types, from.types[index] ?? "application/octet-stream");
  const head = [
    hash,
    size,
    typeIn(type),
    tableIndex(to.times, from.times[time] ?? 0),
    flags,
  ] as const;
  if (more === undefined) return variants ? [...head, variants] : [...head];
  const moved: EntryMore = { ...more };
  if (more.alternates) {
    moved.alternates = more.alternates.map(([extension, t]) => [extension, typeIn(t)]);
  }
  return [...head, variants ?? [], moved];
}
