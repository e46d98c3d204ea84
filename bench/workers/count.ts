// Counts the KV reads a benchmark Worker makes (GET /__reads returns the count and resets it), and
// can serve those reads from memory while cost.ts measures the Worker's own work.
let reads = 0;
let cacheOperations = 0;
let fromMemory = false;

// Cache API calls (match, put, delete) of every Worker in this isolate, counted where they are made.
for (const name of ["match", "put", "delete"] as const) {
  const original = Cache.prototype[name] as (...args: unknown[]) => unknown;
  Object.defineProperty(Cache.prototype, name, {
    configurable: true,
    writable: true,
    value(this: Cache, ...args: unknown[]) {
      cacheOperations += 1;
      return original.apply(this, args);
    },
  });
}
const memory = new Map<string, ArrayBuffer | null>();

/** Wraps a KV binding so every read is counted, and served from memory while that is on. */
export function counted(kv: KVNamespace): KVNamespace {
  return new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property) as unknown;
      if (typeof value !== "function") return value;
      if (property === "get" || property === "getWithMetadata") {
        return (...args: unknown[]) => {
          reads += 1;
          if (fromMemory && property === "get") return fromMemoryGet(target, args);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** Serves reads of counted bindings from memory (filled by the first read of each key) or not. */
export function serveFromMemory(on: boolean): void {
  fromMemory = on;
}

/** Answers GET /__reads, or returns null. */
export function readsEndpoint(request: Request): Response | null {
  // A plain string test, not a URL parse: the check runs before every request the Worker serves.
  if (!request.url.endsWith("/__reads")) return null;
  const count = reads;
  const operations = cacheOperations;
  reads = 0;
  cacheOperations = 0;
  // KV reads, then Cache API calls, since the last ask.
  return new Response(`${count} ${operations}`);
}

// The value in the shape asked for, as KV returns it: a stream, a buffer of its own, or text.
async function fromMemoryGet(kv: KVNamespace, [key, options]: unknown[]): Promise<unknown> {
  const name = key as string;
  if (!memory.has(name)) memory.set(name, await kv.get(name, "arrayBuffer"));
  const bytes = memory.get(name);
  if (!bytes) return null;
  const type = typeof options === "string" ? options : (options as { type?: string })?.type;
  if (type === "stream") return new Response(bytes.slice(0)).body;
  if (type === "arrayBuffer") return bytes.slice(0);
  if (type === "json") return JSON.parse(new TextDecoder().decode(bytes));
  return new TextDecoder().decode(bytes);
}
