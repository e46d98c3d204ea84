// An optional Cache API layer in front of storage for whole bodies, keyed by content-addressed key.

import type { AssetStorage } from "./storage.js";

/**
 * Wraps `storage` so whole bodies are read from `cache` first and written to it on a miss.
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
  async function get(
    key: string,
    options: { type: "stream" | "arrayBuffer"; cacheTtl?: number },
  ): Promise<ReadableStream | ArrayBuffer | null> {
    const cacheKey = `${origin}/__kv-assets/${encodeURIComponent(key)}`;
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
  return { get: get as AssetStorage["get"] };
}
