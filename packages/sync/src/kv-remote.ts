// Remote KV: the Cloudflare REST API through the `cloudflare` SDK, in bulk requests within its limits.
import { describeError, fail } from "./errors.js";
import { eachLimited } from "./limit.js";
import type { KvEntry, KvTarget, ListedKey } from "./target.js";

/** Most pairs in one bulk write or delete request (a limit of the KV API). */
export const BULK_MAX_KEYS = 10_000;
/** Most bytes in one bulk write request body (the API allows 100 MB; JSON and base64 overhead included). */
export const BULK_MAX_BYTES = 95 * 1000 * 1000;

/** Options of {@link openRemoteKv}. */
export interface RemoteKvOptions {
  accountId: string;
  namespaceId: string;
  /** API token with Workers KV Storage: Edit. */
  apiToken: string;
  /**
   * API base URL.
   * @default "https://api.cloudflare.com/client/v4"
   */
  baseURL?: string;
  /**
   * Retries of one request after 429, 5xx, timeouts or dropped connections (honouring Retry-After).
   * @default 5
   */
  maxRetries?: number;
  /**
   * Milliseconds before a request times out (and is retried).
   * @default 60000
   */
  timeout?: number;
  /**
   * Bulk requests in flight at once.
   * @default 4
   */
  concurrency?: number;
  /**
   * Rounds of re-sending keys a bulk write reports in `unsuccessful_keys`.
   * @default 5
   */
  unsuccessfulRetries?: number;
  /**
   * Milliseconds before the first re-send of unsuccessful keys; doubles each round.
   * @default 1000
   */
  retryDelay?: number;
  /** Called after each bulk request with the count of pairs it carried, for progress. */
  onRequest?: (info: { method: string; keys: number; bytes: number }) => void;
}

/** Opens a KV namespace through the REST API. */
export async function openRemoteKv(options: RemoteKvOptions): Promise<KvTarget> {
  const { accountId, namespaceId } = options;
  const concurrency = options.concurrency ?? 4;
  const unsuccessfulRetries = options.unsuccessfulRetries ?? 5;
  const retryDelay = options.retryDelay ?? 1000;
  const onRequest = options.onRequest ?? (() => {});
  const { default: Cloudflare } = await import("cloudflare");
  const client = new Cloudflare({
    apiToken: options.apiToken,
    baseURL: options.baseURL,
    maxRetries: options.maxRetries ?? 5,
    timeout: options.timeout ?? 60_000,
  });
  const where = `KV namespace ${namespaceId}`;

  // Bulk requests succeed as a whole but may refuse some keys: send those again, with backoff.
  async function untilAccepted<T>(
    items: T[],
    keyOf: (item: T) => string,
    send: (pending: T[]) => Promise<string[]>,
    refusedMessage: (pending: T[]) => string,
  ): Promise<void> {
    let pending = items;
    for (let round = 0; pending.length > 0; round++) {
      if (round > unsuccessfulRetries) fail(refusedMessage(pending));
      if (round > 0) await sleep(retryDelay * 2 ** (round - 1));
      const refused = new Set(await send(pending));
      pending = pending.filter((item) => refused.has(keyOf(item)));
    }
  }

  return {
    remote: true,
    description: `remote ${where}`,
    async list(prefix) {
      const keys: ListedKey[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.kv.namespaces.keys
          .list(namespaceId, {
            account_id: accountId,
            prefix,
            limit: 1000,
            ...(cursor ? { cursor } : {}),
          })
          .catch((error: unknown) =>
            fail(`listing keys of ${where} failed: ${describeError(error)}`, error),
          );
        onRequest({ method: "list", keys: page.result.length, bytes: 0 });
        keys.push(...page.result.map((k) => ({ name: k.name, metadata: k.metadata })));
        cursor = page.result.length > 0 ? page.result_info?.cursor || undefined : undefined;
      } while (cursor);
      return keys;
    },
    async getText(key) {
      try {
        const response = await client.kv.namespaces.values.get(key, {
          account_id: accountId,
          namespace_id: namespaceId,
        });
        onRequest({ method: "get", keys: 1, bytes: 0 });
        return await response.text();
      } catch (error) {
        if ((error as { status?: number }).status === 404) return null;
        fail(`reading "${key}" from ${where} failed: ${describeError(error)}`, error);
      }
    },
    async putMany(entries) {
      await eachLimited(batches(entries), concurrency, (batch) =>
        untilAccepted(
          batch,
          (entry) => entry.key,
          async (pending) => {
            const body = pending.map(toBulkPair);
            const result = await client.kv.namespaces
              .bulkUpdate(namespaceId, { account_id: accountId, body })
              .catch((error: unknown) =>
                fail(
                  `uploading ${body.length} keys to ${where} failed after retries: ${describeError(error)}; nothing was published, re-run to resume`,
                  error,
                ),
              );
            onRequest({
              method: "bulk-put",
              keys: body.length,
              bytes: body.reduce((n, p) => n + p.value.length, 0),
            });
            return result?.unsuccessful_keys ?? [];
          },
          (pending) =>
            `${pending.length} keys were still refused by ${where} after ${unsuccessfulRetries} retries (first: "${pending[0]?.key}"); nothing was published, re-run to resume`,
        ),
      );
    },
    async deleteMany(keys) {
      const groups: string[][] = [];
      for (let i = 0; i < keys.length; i += BULK_MAX_KEYS)
        groups.push(keys.slice(i, i + BULK_MAX_KEYS));
      await eachLimited(groups, concurrency, (group) =>
        untilAccepted(
          group,
          (key) => key,
          async (pending) => {
            const result = await client.kv.namespaces
              .bulkDelete(namespaceId, { account_id: accountId, body: pending })
              .catch((error: unknown) =>
                fail(`deleting keys from ${where} failed: ${describeError(error)}`, error),
              );
            onRequest({ method: "bulk-delete", keys: pending.length, bytes: 0 });
            return result?.unsuccessful_keys ?? [];
          },
          (pending) => `${pending.length} keys could not be deleted from ${where}; re-run prune`,
        ),
      );
    },
    async close() {},
  };
}

/** Splits entries into bulk requests within the API's key and byte limits. */
export function batches(entries: readonly KvEntry[]): KvEntry[][] {
  const out: KvEntry[][] = [];
  let current: KvEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = encodedSize(entry);
    if (current.length > 0 && (current.length >= BULK_MAX_KEYS || bytes + size > BULK_MAX_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function encodedSize(entry: KvEntry): number {
  const value =
    typeof entry.value === "string"
      ? entry.value.length * 2
      : Math.ceil(entry.value.byteLength / 3) * 4;
  return value + entry.key.length + 200;
}

function toBulkPair(entry: KvEntry): {
  key: string;
  value: string;
  base64?: boolean;
  metadata?: unknown;
} {
  const pair =
    typeof entry.value === "string"
      ? { key: entry.key, value: entry.value }
      : { key: entry.key, value: Buffer.from(entry.value).toString("base64"), base64: true };
  return entry.metadata ? { ...pair, metadata: entry.metadata } : pair;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
