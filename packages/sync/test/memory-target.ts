// A KvTarget held in a Map, for tests of many syncs and prunes where local KV's start-up would dominate.
import type { KvEntry, KvTarget, ListedKey } from "../src/target.js";

export interface MemoryTarget extends KvTarget {
  store: Map<string, { value: Uint8Array; metadata?: Record<string, unknown> }>;
}

/** An empty namespace; `remote` makes the sync keep an upload journal, as it does for the API. */
export function memoryTarget({ remote = false } = {}): MemoryTarget {
  const store: MemoryTarget["store"] = new Map();
  const encoder = new TextEncoder();
  return {
    store,
    remote,
    description: "memory",
    async list(prefix) {
      const keys: ListedKey[] = [];
      for (const [name, { metadata }] of store) {
        if (name.startsWith(prefix)) keys.push(metadata ? { name, metadata } : { name });
      }
      return keys.sort((a, b) => (a.name < b.name ? -1 : 1));
    },
    async getText(key) {
      const entry = store.get(key);
      return entry ? new TextDecoder().decode(entry.value) : null;
    },
    async putMany(entries: KvEntry[]) {
      for (const { key, value, metadata } of entries) {
        const bytes = typeof value === "string" ? encoder.encode(value) : value.slice();
        store.set(key, metadata ? { value: bytes, metadata } : { value: bytes });
      }
    },
    async deleteMany(keys) {
      for (const key of keys) store.delete(key);
    },
    async close() {},
  };
}
