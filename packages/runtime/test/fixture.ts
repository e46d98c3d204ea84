// Builds manifests in tests and puts their bodies into real KV, the way the sync engine would.
export { parseMultipart } from "./parse-multipart.js";
import { contentKey, partKeys, pointerKey } from "../src/keys.js";
import { alternatePath, shardOf, type EntryMore } from "../src/manifest.js";
import type {
  AssetManifest,
  AssetStorage,
  ContentEncoding,
  ManifestEntry,
  ManifestStorage,
  ManifestVariant,
} from "../src/index.js";

export interface FixtureFile {
  body: string | Uint8Array;
  type?: string;
  immutable?: boolean;
  lastModified?: number;
  variants?: Partial<Record<ContentEncoding, Uint8Array | string>>;
  /** Store the bodies whole in `bucket` instead of KV, flagged as the sync's `r2` option does. */
  inBucket?: boolean;
  /** Extensions of the files beside this one with its content in other types, preferred first. */
  alternates?: string[];
}

/** Fixed Last-Modified of fixture files: 2024-01-02T03:04:05Z. */
export const LAST_MODIFIED = 1704164645;

/** Creates a manifest for `files` and stores every body in `kv` under content-addressed keys. */
export async function seed(
  kv: KVNamespace,
  files: Record<string, FixtureFile>,
  {
    prefix = "",
    chunk = 25 * 1024 * 1024,
    bucket,
    digests = false,
  }: { prefix?: string; chunk?: number; bucket?: R2Bucket; digests?: boolean } = {},
): Promise<AssetManifest> {
  const manifest: AssetManifest = { v: 1, prefix, chunk, types: [], times: [], files: {} };
  const index = <T>(list: T[], value: T): number => {
    const at = list.indexOf(value);
    return at === -1 ? list.push(value) - 1 : at;
  };
  for (const [path, file] of Object.entries(files)) {
    const bytes = toBytes(file.body);
    const store = async (body: Uint8Array): Promise<string> => {
      if (!file.inBucket) return put(kv, prefix, body, chunk);
      const hash = await hashOf(body);
      await (bucket as R2Bucket).put(contentKey(prefix, hash), body);
      return hash;
    };
    const hash = await store(bytes);
    const head = [
      hash,
      bytes.byteLength,
      index(manifest.types, file.type ?? "text/plain; charset=utf-8"),
      index(manifest.times, file.lastModified ?? LAST_MODIFIED),
      (file.immutable ? 1 : 0) | (file.inBucket ? 2 : 0),
    ] as const;
    const variants: ManifestVariant[] = [];
    for (const [encoding, body] of Object.entries(file.variants ?? {}) as [
      ContentEncoding,
      Uint8Array | string,
    ][]) {
      const vbytes = toBytes(body);
      const vhash = await store(vbytes);
      variants.push(
        digests
          ? [encoding, vhash, vbytes.byteLength, await sha256Of(vbytes)]
          : [encoding, vhash, vbytes.byteLength],
      );
    }
    const more: EntryMore = {};
    if (digests) more.digest = await sha256Of(bytes);
    if (file.alternates) {
      more.alternates = file.alternates.map((extension) => {
        const type = files[alternatePath(path, extension)]?.type ?? "text/plain; charset=utf-8";
        return [extension, index(manifest.types, type)];
      });
    }
    const entry: ManifestEntry =
      Object.keys(more).length > 0
        ? [...head, variants, more]
        : variants.length > 0
          ? [...head, variants]
          : [...head];
    manifest.files[path] = entry;
  }
  return manifest;
}

/** The sha-256 of `bytes` in base64, as the sync records digests. */
export async function sha256Of(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return btoa(String.fromCharCode(...digest));
}

/**
 * Publishes `manifest` under its prefix as the sync engine does: whole, or as an index of `shards`
 * shards stored under their content hashes.
 */
export async function publish(
  kv: KVNamespace,
  manifest: AssetManifest,
  { shards = 0 }: { shards?: number } = {},
): Promise<string[]> {
  if (shards === 0) {
    await kv.put(pointerKey(manifest.prefix), JSON.stringify(manifest));
    return [];
  }
  const groups: Record<string, ManifestEntry>[] = Array.from({ length: shards }, () => ({}));
  for (const [path, entry] of Object.entries(manifest.files)) {
    (groups[shardOf(path, shards)] as Record<string, ManifestEntry>)[path] = entry;
  }
  const hashes: string[] = [];
  for (const group of groups) {
    const text = JSON.stringify(group);
    const hash = await hashOf(toBytes(text));
    await kv.put(contentKey(manifest.prefix, hash), text);
    hashes.push(hash);
  }
  const { files: _files, ...tables } = manifest;
  await kv.put(pointerKey(manifest.prefix), JSON.stringify({ ...tables, shards: hashes }));
  return hashes;
}

/** Wraps storage so a test can count how many reads a request made. */
export function counting(kv: KVNamespace): AssetStorage & ManifestStorage & { reads: string[] } {
  const reads: string[] = [];
  // KV's own overloads: a stream for bodies, text for manifest records.
  function get(
    key: string,
    options: { type: "stream"; cacheTtl?: number },
  ): Promise<ReadableStream | null>;
  function get(key: string, options: { type: "text"; cacheTtl?: number }): Promise<string | null>;
  function get(
    key: string,
    options: { type: "stream" | "text"; cacheTtl?: number },
  ): Promise<ReadableStream | string | null> {
    reads.push(key);
    return options.type === "text"
      ? kv.get(key, { ...options, type: "text" })
      : kv.get(key, { ...options, type: "stream" });
  }
  return { reads, get };
}

export function toBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? new TextEncoder().encode(body) : body;
}

async function put(
  kv: KVNamespace,
  prefix: string,
  bytes: Uint8Array,
  chunk: number,
): Promise<string> {
  const hash = await hashOf(bytes);
  if (bytes.byteLength <= chunk) {
    await kv.put(contentKey(prefix, hash), bytes);
  } else {
    const keys = partKeys(contentKey(prefix, hash), bytes.byteLength, chunk);
    for (const [i, key] of keys.entries()) {
      await kv.put(key, bytes.slice(i * chunk, (i + 1) * chunk));
    }
  }
  return hash;
}

async function hashOf(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
