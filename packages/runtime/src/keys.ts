// The namespace's key layout: every kind of key a site writes, built and recognised in one place.
//
// A site is everything under its prefix (`""`, `"docs/"`, `"project/acme/"`, ...). Sites share a
// namespace, and one site's prefix may start another's (`""` starts every prefix), so a site's
// listing also returns the keys of the sites under it. Each kind of key therefore has an exact
// shape, and a site treats as its own only the keys whose rest after its prefix has one of them:
//
//   {16 hex}                    content (a body, a variant or a shard), named by its xxh64
//   {16 hex}.{n}                part n of content stored in parts
//   manifest                    the newest manifest (the pointer the runtime reads)
//   manifests/{15 digits}       a history record, named by the time its sync ran (ms)
//   locks/{kind}-{15 digits}-{8 hex}  a running sync's or prune's lock
//   uploads/{15 digits}-{6 digits}    an upload journal record of a remote sync
//   previews/{name}.json        a preview's manifest (name: 1-22 of a-z, 0-9, `-`)
//
// No key of one shape ends with a key of another shape (each has a `.`, `/`, `-` or letter where
// the others have hex, or a length of its own), so no other site's key, whatever its prefix, has
// this site's prefix followed by one of these shapes: another site's records are never read,
// trusted or deleted. The property test in the sync package checks this over random prefixes.
//
// Copies of the pull-through cache are named by a 32-hex digest, a shape no site uses.

/** Longest key Workers KV accepts, in bytes. */
export const KV_KEY_LIMIT = 512;

/** Key of content (a body, a variant or a shard) named by its hash. */
export function contentKey(prefix: string, hash: string): string {
  return prefix + hash;
}

/** Storage keys holding a body of `size` bytes stored under `key`: one, or its parts when it is stored in parts. */
export function partKeys(key: string, size: number, chunk: number): string[] {
  if (size <= chunk) return [key];
  const count = Math.ceil(size / chunk);
  return Array.from({ length: count }, (_, index) => `${key}.${index}`);
}

/** Whether `key` is content of the site under `prefix`: a hash, or a part of one. */
export function isContentKey(prefix: string, key: string): boolean {
  return key.startsWith(prefix) && CONTENT.test(key.slice(prefix.length));
}

/** Key of the newest manifest under a prefix; what `loadManifest` and the next sync read. */
export function pointerKey(prefix: string): string {
  return `${prefix}manifest`;
}

/** Folder of the manifest history under a prefix; one record per sync, oldest first by name. */
export function historyFolder(prefix: string): string {
  return `${prefix}manifests/`;
}

/** Key of the history record of a sync that ran at `created` (ms). */
export function historyKey(prefix: string, created: number): string {
  return `${historyFolder(prefix)}${timeName(created)}`;
}

/** When the sync of a history record ran (ms), or `undefined` when `key` is not one of the site's. */
export function historyTime(prefix: string, key: string): number | undefined {
  const match = HISTORY.exec(rest(historyFolder(prefix), key));
  return match ? Number(match[1]) : undefined;
}

/** What holds a lock. */
export type LockKind = "sync" | "prune";

/** Folder of the lock records under a prefix. */
export function lockFolder(prefix: string): string {
  return `${prefix}locks/`;
}

/** Key of a lock taken at `started` (ms); `id` is 8 hex digits that tell apart locks of one millisecond. */
export function lockKey(prefix: string, kind: LockKind, started: number, id: string): string {
  if (!/^[0-9a-f]{8}$/.test(id))
    throw new Error(`lock id ${JSON.stringify(id)} is not 8 hex digits`);
  return `${lockFolder(prefix)}${kind}-${timeName(started)}-${id}`;
}

/** What a lock key says, or `undefined` when `key` is not a lock of the site. */
export function parseLockKey(
  prefix: string,
  key: string,
): { kind: LockKind; started: number } | undefined {
  const match = LOCK.exec(rest(lockFolder(prefix), key));
  return match ? { kind: match[1] as LockKind, started: Number(match[2]) } : undefined;
}

/** Folder of the upload journal records under a prefix. */
export function journalFolder(prefix: string): string {
  return `${prefix}uploads/`;
}

/** Key of the `index`-th journal record of the sync that started at `started` (ms). */
export function journalKey(prefix: string, started: number, index: number): string {
  return `${journalFolder(prefix)}${timeName(started)}-${String(index).padStart(6, "0")}`;
}

/** When the sync of a journal record started (ms), or `undefined` when `key` is not a journal record of the site. */
export function journalTime(prefix: string, key: string): number | undefined {
  const match = JOURNAL.exec(rest(journalFolder(prefix), key));
  return match ? Number(match[1]) : undefined;
}

/** Folder of the preview manifests under a prefix. */
export function previewFolder(prefix: string): string {
  return `${prefix}previews/`;
}

/**
 * Key of upload session `id` (16 hex digits): the files a client is uploading to a Worker's
 * upload handler, until it publishes them. Not content, so prune leaves it alone; it expires.
 */
export function uploadKey(prefix: string, id: string): string {
  if (!/^[0-9a-f]{16}$/.test(id)) throw new Error(`upload id ${JSON.stringify(id)} is not valid`);
  return `${prefix}uploads/${id}`;
}

/** Key of the manifest of preview `name`, which must pass {@link isPreviewName}. */
export function previewKey(prefix: string, name: string): string {
  if (!isPreviewName(name)) throw new Error(`preview name ${JSON.stringify(name)} is not valid`);
  return `${previewFolder(prefix)}${name}.json`;
}

/** The name of a preview's manifest record, or `undefined` when `key` is not one of the site's. */
export function previewName(prefix: string, key: string): string | undefined {
  const match = PREVIEW.exec(rest(previewFolder(prefix), key));
  return match ? match[1] : undefined;
}

/**
 * Whether `name` can name a preview: 1-22 lower-case letters, digits or `-`, starting with a
 * letter or digit (so its key is never longer than a lock's).
 */
export function isPreviewName(name: unknown): name is string {
  return typeof name === "string" && /^[a-z0-9][a-z0-9-]{0,21}$/.test(name);
}

/** Key of the pull-through cache's copy of one origin URL, named by a 32-hex digest of the URL. */
export function copyKey(prefix: string, digest: string): string {
  return prefix + digest;
}

/** Key prefix of a project under `prefix`. The id must pass {@link isProjectId}. */
export function projectPrefix(prefix: string, project: string): string {
  return `${prefix}project/${project}/`;
}

/** Whether `id` is a project id: 1-64 letters, digits, `-` or `_`, starting with a letter or digit. */
export function isProjectId(id: unknown): id is string {
  return typeof id === "string" && /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(id);
}

/**
 * Bytes the longest key of a site under `prefix` takes, built by the builders above with their
 * longest arguments, for content of at most `maxParts` parts.
 */
export function longestKey(prefix: string, maxParts: number): number {
  const latest = 10 ** 15 - 1;
  const hash = "f".repeat(16);
  const keys = [
    contentKey(prefix, hash),
    maxParts > 1 ? `${contentKey(prefix, hash)}.${maxParts - 1}` : "",
    pointerKey(prefix),
    historyKey(prefix, latest),
    lockKey(prefix, "prune", latest, "ffffffff"),
    lockKey(prefix, "sync", latest, "ffffffff"),
    journalKey(prefix, latest, 999_999),
    previewKey(prefix, "p".repeat(22)),
  ];
  return Math.max(...keys.map((key) => new TextEncoder().encode(key).byteLength));
}

/** A time in ms as 15 digits, so names holding it sort by time (history, locks, journal). */
export function timeName(ms: number): string {
  return String(ms).padStart(15, "0");
}

function rest(folder: string, key: string): string {
  return key.startsWith(folder) ? key.slice(folder.length) : "";
}

const CONTENT = /^[0-9a-f]{16}(?:\.\d+)?$/;
const HISTORY = /^(\d{15})$/;
const LOCK = /^(sync|prune)-(\d{15})-[0-9a-f]{8}$/;
const JOURNAL = /^(\d{15})-\d{6,}$/;
const PREVIEW = /^([a-z0-9][a-z0-9-]{0,21})\.json$/;
