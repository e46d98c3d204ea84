// The one kind of cache the runtime keeps per isolate: a Map of at most `limit` entries.

/** A Map that holds at most `limit` entries; setting one more drops the one set longest ago. */
export interface BoundedMap<K, V> {
  get(key: K): V | undefined;
  has(key: K): boolean;
  /** Sets `key`, as the newest entry, dropping the oldest one past the limit. */
  set(key: K, value: V): void;
  delete(key: K): void;
  readonly size: number;
}

/**
 * Makes a {@link BoundedMap}. Every cache a request can fill (lookups, parsed headers, prepared
 * responses, loaded manifests) is one, so hostile requests cannot make one grow without bound.
 */
export function boundedMap<K, V>(limit: number): BoundedMap<K, V> {
  const map = new Map<K, V>();
  return {
    get: (key) => map.get(key),
    has: (key) => map.has(key),
    set(key, value) {
      map.delete(key);
      map.set(key, value);
      if (map.size > limit) map.delete(map.keys().next().value as K);
    },
    delete: (key) => void map.delete(key),
    get size() {
      return map.size;
    },
  };
}

/**
 * `parse`, with the results for the last `limit` distinct inputs of up to `longest` characters
 * kept: what request headers clients send few distinct values of (Accept, Accept-Encoding) get.
 */
export function keptParses<T>(
  parse: (text: string) => T,
  limit: number,
  longest: number,
): (text: string) => T {
  const parses = boundedMap<string, T>(limit);
  return function parsed(text) {
    const kept = parses.get(text);
    if (kept !== undefined) return kept;
    const result = parse(text);
    if (text.length <= longest) parses.set(text, result);
    return result;
  };
}
