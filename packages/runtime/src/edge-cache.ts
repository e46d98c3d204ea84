// An optional Cache API layer in front of storage for whole bodies, keyed by content-addressed key.

import type { ByteRange } from "./range.js";
import type { AssetStorage } from "./storage.js";

/**
 * Wraps `storage` so bodies and ranges of them are read from `cache` first, and whole bodies are
 * written to it on a miss.
 * Keys are content-addressed, so a cached body never goes stale. `origin` keeps the cache key on
 * the zone that serves the request, which is where the Cache API stores anything.
 */
export function withEdgeCache(
  storage: AssetStorage,
  cache: Cache,
  origin: string,
  waitUntil: (promise: Promise<unknown>) => void,
): AssetStorage {
  const headers = { "Cache-Control": "public, max-age=31536000, immutable" };
  const cacheKeyOf = (key: string): string => `${origin}/__kv-assets/${encodeURIComponent(key)}`;
  async function get(
    key: string,
    options: { type: "stream" | "arrayBuffer"; cacheTtl?: number },
  ): Promise<ReadableStream | ArrayBuffer | null> {
    const cacheKey = cacheKeyOf(key);
    const hit = await cache.match(cacheKey).catch(() => undefined);
    if (hit?.body) return options.type === "arrayBuffer" ? hit.arrayBuffer() : hit.body;
    if (options.type === "arrayBuffer") {
      const buffer = await storage.get(key, { ...options, type: "arrayBuffer" });
      if (!buffer) return null;
      waitUntil(cache.put(cacheKey, new Response(buffer.slice(0), { headers })).catch(() => {}));
      return buffer;
    }
    const stream = await storage.get(key, { ...options, type: "stream" });
    if (!stream) return null;
    const [forClient, forCache] = stream.tee();
    waitUntil(cache.put(cacheKey, new Response(forCache, { headers })).catch(() => {}));
    return forClient;
  }
  // The Cache API answers a Range itself (206 from the stored body); on a miss the whole value is
  // read once, cached, and sliced.
  async function getRange(key: string, range: ByteRange): Promise<ReadableStream | null> {
    const cacheKey = cacheKeyOf(key);
    const ranged = new Request(cacheKey, {
      headers: { Range: `bytes=${range.start}-${range.end}` },
    });
    const hit = await cache.match(ranged).catch(() => undefined);
    if (hit?.status === 206 && hit.body) return hit.body;
    await hit?.body?.cancel();
    // Storage that reads ranges itself (R2) is asked for just the range, never the whole object.
    if (storage.getRange) return storage.getRange(key, range);
    const buffer = (await get(key, { type: "arrayBuffer" })) as ArrayBuffer | null;
    return buffer
      ? (new Response(buffer.slice(range.start, range.end + 1)).body as ReadableStream)
      : null;
  }
  return { get: get as AssetStorage["get"], getRange };
}
