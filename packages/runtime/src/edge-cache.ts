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
  // Reads from storage and hands a copy to the cache in the background.
  async function fill(key: string, cacheTtl?: number): Promise<ReadableStream | null> {
    const stream = await storage.get(key, { type: "stream", cacheTtl });
    if (!stream) return null;
    const [forClient, forCache] = stream.tee();
    waitUntil(cache.put(cacheKeyOf(key), new Response(forCache, { headers })).catch(() => {}));
    return forClient;
  }
  async function get(
    key: string,
    options: { type: "stream"; cacheTtl?: number },
  ): Promise<ReadableStream | null> {
    const hit = await cache.match(cacheKeyOf(key)).catch(() => undefined);
    return hit?.body ?? fill(key, options.cacheTtl);
  }
  // The Cache API answers a Range itself (206 from the stored body); on a miss the whole value is
  // read once, cached, and sliced.
  async function getRange(key: string, range: ByteRange): Promise<ReadableStream | null> {
    const ranged = new Request(cacheKeyOf(key), {
      headers: { Range: `bytes=${range.start}-${range.end}` },
    });
    const hit = await cache.match(ranged).catch(() => undefined);
    if (hit?.status === 206 && hit.body) return hit.body;
    await hit?.body?.cancel();
    // Storage that reads ranges itself (R2) is asked for just the range, never the whole object.
    if (storage.getRange) return storage.getRange(key, range);
    const stream = await fill(key);
    if (!stream) return null;
    const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    return new Response(bytes.subarray(range.start, range.end + 1)).body;
  }
  return { get, getRange };
}
