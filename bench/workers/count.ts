// Counts the KV reads a benchmark Worker makes; GET /__reads returns the count and resets it.
let reads = 0;

/** Wraps a KV binding so every read is counted. */
export function counted(kv: KVNamespace): KVNamespace {
  return new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown;
      if (typeof value !== "function") return value;
      if (property === "get" || property === "getWithMetadata") {
        return (...args: unknown[]) => {
          reads += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** Answers GET /__reads, or returns null. */
export function readsEndpoint(request: Request): Response | null {
  if (new URL(request.url).pathname !== "/__reads") return null;
  const count = reads;
  reads = 0;
  return new Response(String(count));
}
