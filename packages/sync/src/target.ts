// The storage a sync writes to: local KV state or the remote KV API, behind one small interface.

/** A key and value to write. */
export interface KvEntry {
  key: string;
  value: Uint8Array | string;
  /** Small JSON metadata stored with the key (KV allows 1024 bytes). */
  metadata?: Record<string, unknown>;
}

/** A key as listed, with its metadata. */
export interface ListedKey {
  name: string;
  metadata?: unknown;
}

/** Where a sync reads and writes keys. Every method throws a clear error when it cannot finish. */
export interface KvTarget {
  /** Human description for logs, e.g. `local KV "ASSETS" in .wrangler/state/v3`. */
  readonly description: string;
  /** Whether each request costs a round trip to the API (so listing everything is avoided). */
  readonly remote: boolean;
  /** Lists every key under `prefix`. */
  list(prefix: string): Promise<ListedKey[]>;
  /** Reads a text value, or `null` when the key does not exist. */
  getText(key: string): Promise<string | null>;
  /** Writes all entries; resolves only once every one is confirmed written. */
  putMany(entries: KvEntry[]): Promise<void>;
  /** Deletes keys; resolves once every one is confirmed deleted. */
  deleteMany(keys: string[]): Promise<void>;
  /** Releases anything the target holds open. */
  close(): Promise<void>;
  /** The R2 bucket opened beside the namespace, when a sync asked for one (`r2` option). */
  readonly bucket?: KvTarget;
}
