// Local KV: the state `wrangler dev` reads, written through wrangler's own platform proxy.
import { join } from "node:path";
import { describeError, fail } from "./errors.js";
import { lockLocalState } from "./local-lock.js";
import { loadWrangler } from "./signals.js";
import { eachLimited } from "./limit.js";
import type { KvBinding } from "./wrangler-config.js";
import type { KvEntry, KvTarget, ListedKey } from "./target.js";

/** Options of {@link openLocalKv}. */
export interface LocalKvOptions {
  /**
   * Folder of wrangler's local state; `wrangler dev` reads `.wrangler/state/v3` beside its config.
   * @default `${binding.projectRoot}/.wrangler/state/v3`
   */
  persistTo?: string;
  /** Wrangler environment to read bindings from. */
  environment?: string;
  /**
   * Writes in flight at once.
   * @default 16
   */
  concurrency?: number;
  /** R2 binding to open beside the namespace, as the target's `bucket`. */
  bucket?: string;
  /** Told when another run holds the local state and this one waits, or takes it over. */
  onWait?: (message: string) => void;
}

// The slice of the KV binding the local target uses; the proxy hands over the real binding.
interface LocalNamespace {
  get(key: string, type: "text"): Promise<string | null>;
  put(key: string, value: ArrayBuffer | string, options?: { metadata?: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
  list(options: { prefix?: string; cursor?: string; limit?: number }): Promise<{
    keys: { name: string; metadata?: unknown }[];
    list_complete: boolean;
    cursor?: string;
  }>;
}

/** Opens the local KV namespace behind `binding`, as `wrangler dev` would see it. */
export async function openLocalKv(
  binding: KvBinding,
  options: LocalKvOptions = {},
): Promise<KvTarget> {
  const persistTo = options.persistTo ?? join(binding.projectRoot, ".wrangler", "state", "v3");
  const concurrency = options.concurrency ?? 16;
  const { getPlatformProxy } = await loadWrangler();
  const release = await lockLocalState(persistTo, options.onWait ?? (() => {}));
  const proxy = await getPlatformProxy<Record<string, unknown>>({
    configPath: binding.configPath,
    environment: options.environment,
    persist: { path: persistTo },
    envFiles: [],
    remoteBindings: false,
  }).catch(async (error: unknown) => {
    await release();
    return fail(`cannot start local KV for ${binding.configPath}: ${describeError(error)}`, error);
  });
  const dispose = async (): Promise<void> => {
    await proxy.dispose();
    await release();
  };
  const kv = proxy.env[binding.binding] as LocalNamespace | undefined;
  if (!kv) {
    await dispose();
    fail(
      `binding "${binding.binding}" not found in ${binding.configPath}; add it under kv_namespaces`,
    );
  }

  let bucket: KvTarget | undefined;
  if (options.bucket !== undefined) {
    const r2 = proxy.env[options.bucket] as LocalBucket | undefined;
    if (!r2) {
      await dispose();
      fail(
        `R2 binding "${options.bucket}" not found in ${binding.configPath}; add { "binding": "${options.bucket}", "bucket_name": "..." } under r2_buckets`,
      );
    }
    bucket = localBucket(r2, `local R2 "${options.bucket}" in ${persistTo}`, concurrency);
  }

  return {
    remote: false,
    bucket,
    description: `local KV "${binding.binding}" in ${persistTo}`,
    async list(prefix) {
      const keys: ListedKey[] = [];
      let cursor: string | undefined;
      do {
        const page = await kv.list({ prefix, cursor, limit: 1000 });
        keys.push(...page.keys.map((k) => ({ name: k.name, metadata: k.metadata })));
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      return keys;
    },
    getText(key) {
      return kv.get(key, "text");
    },
    async putMany(entries) {
      await eachLimited(entries, concurrency, async (entry: KvEntry) => {
        try {
          // The proxy serialises plain ArrayBuffers; Buffers and views into larger buffers fail its checks.
          const value = typeof entry.value === "string" ? entry.value : toArrayBuffer(entry.value);
          await kv.put(entry.key, value, entry.metadata ? { metadata: entry.metadata } : undefined);
        } catch (error) {
          fail(`writing "${entry.key}" to local KV failed: ${describeError(error)}`, error);
        }
      });
    },
    async deleteMany(keys) {
      await eachLimited(keys, concurrency, (key) => kv.delete(key));
    },
    async close() {
      await dispose();
    },
  };
}

// The slice of the R2 binding the local bucket target uses.
interface LocalBucket {
  get(key: string): Promise<{ text(): Promise<string> } | null>;
  put(
    key: string,
    value: ArrayBuffer | string,
    options?: { customMetadata?: Record<string, string> },
  ): Promise<unknown>;
  delete(keys: string[]): Promise<void>;
  list(options: { prefix?: string; cursor?: string; include?: "customMetadata"[] }): Promise<{
    objects: { key: string; customMetadata?: Record<string, string> }[];
    truncated: boolean;
    cursor?: string;
  }>;
}

// Objects carry the upload time as custom metadata `t`, like KV keys, so prune can spare new ones.
function localBucket(r2: LocalBucket, description: string, concurrency: number): KvTarget {
  return {
    remote: false,
    description,
    async list(prefix) {
      const keys: ListedKey[] = [];
      let cursor: string | undefined;
      do {
        const page = await r2.list({ prefix, cursor, include: ["customMetadata"] });
        for (const object of page.objects) {
          const t = Number(object.customMetadata?.t);
          keys.push({ name: object.key, metadata: Number.isFinite(t) ? { t } : undefined });
        }
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return keys;
    },
    async getText(key) {
      return (await r2.get(key))?.text() ?? null;
    },
    async putMany(entries) {
      await eachLimited(entries, concurrency, async (entry: KvEntry) => {
        try {
          const value = typeof entry.value === "string" ? entry.value : toArrayBuffer(entry.value);
          const t = entry.metadata?.t;
          await r2.put(
            entry.key,
            value,
            t === undefined ? {} : { customMetadata: { t: String(t) } },
          );
        } catch (error) {
          fail(`writing "${entry.key}" to local R2 failed: ${describeError(error)}`, error);
        }
      });
    },
    async deleteMany(keys) {
      for (let i = 0; i < keys.length; i += 1000) await r2.delete(keys.slice(i, i + 1000));
    },
    async close() {},
  };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}
