// Whole bodies of small files kept in the isolate's memory: keys are content-addressed, so a body read once never goes stale.

/** A byte-bounded cache of stored values by key, least recently used dropped first. */
export interface MemoryCache {
  /** The value at `key`, marked as just used, or `undefined`. */
  get(key: string): Uint8Array | undefined;
  /** Keeps `value` if it is at most the per-value limit, dropping the least recently used to stay in budget. */
  set(key: string, value: Uint8Array): void;
  /** Whether a value of `size` bytes would be kept. */
  fits(size: number): boolean;
  /** Bytes held now; never more than `budget`. */
  readonly bytes: number;
  /** Most bytes held at once. */
  readonly budget: number;
}

/**
 * The memory cache of one storage: one per storage object in the isolate, so every handler and
 * every manifest reading from one KV binding shares one budget, and the bound holds however many
 * handlers are made. The first handler to ask sets the budget; a later one may raise it.
 */
export function memoryCacheOf(storage: object, budget: number, largest: number): MemoryCache {
  let cache = caches.get(storage);
  if (cache === undefined) {
    cache = createMemoryCache(budget, largest);
    caches.set(storage, cache);
  } else {
    cache.raise(budget, largest);
  }
  return cache;
}

const caches = new WeakMap<
  object,
  MemoryCache & { raise(budget: number, largest: number): void }
>();

/** A cache of at most `budget` bytes, of values of at most `largest` bytes each. */
export function createMemoryCache(
  budget: number,
  largest: number,
): MemoryCache & { raise(budget: number, largest: number): void } {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const values = new Map<string, Uint8Array>();
  let bytes = 0;
  const fits = (size: number): boolean => size <= largest && size <= budget;
  return {
    get(key) {
      const value = values.get(key);
      if (value !== undefined) {
        values.delete(key);
        values.set(key, value);
      }
      return value;
    },
    set(key, value) {
      if (!fits(value.byteLength) || values.has(key)) return;
      values.set(key, value);
      bytes += value.byteLength;
      for (const [oldest, old] of values) {
        if (bytes <= budget) break;
        values.delete(oldest);
        bytes -= old.byteLength;
      }
    },
    fits,
    get bytes() {
      return bytes;
    },
    get budget() {
      return budget;
    },
    raise(more, larger) {
      budget = Math.max(budget, more);
      largest = Math.max(largest, larger);
    },
  };
}
