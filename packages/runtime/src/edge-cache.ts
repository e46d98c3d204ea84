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
  return {
    async get(key, options) {
      const cacheKey = `${origin}/__kv-assets/${encodeURIComponent(key)}`;
      const hit = await cache.match(cacheKey).catch(() => undefined);
      if (hit?.body) return hit.body;
      const stream = await storage.get(key, options);
      if (!stream) return null;
      const [forClient, forCache] = stream.tee();
      const stored = new Response(forCache, {
        headers: { "Cache-Control": "public, max-age=31536000, immutable" },
      });
      waitUntil(cache.put(cacheKey, stored).catch(() => {}));
      return forClient;
    },
  };
}
