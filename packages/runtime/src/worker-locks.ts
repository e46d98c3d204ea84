// The lock records publishers and prunes running in a Worker write, as the sync's: one is taken
// before looking at storage, and others' that still hold make a run stand back.

import { lockFolder, lockKey, parseLockKey, type LockKind } from "./keys.js";
import { lockExpired } from "./lock-times.js";
import type { PublishStorage } from "./publish.js";

/** Every key under `prefix`, with its metadata, through as many list pages as it takes. */
export async function listAll(
  kv: Pick<PublishStorage, "list">,
  prefix: string,
): Promise<{ name: string; metadata?: unknown }[]> {
  const keys: { name: string; metadata?: unknown }[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix, ...(cursor ? { cursor } : {}) });
    keys.push(...page.keys);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return keys;
}

/** A lock this run holds: `renew` shows it is alive, `release` removes it. */
export interface WorkerLock {
  key: string;
  started: number;
  renew(): Promise<void>;
  release(): Promise<void>;
}

/** Writes a lock record of `kind` under `prefix`, as a sync or prune in Node writes its own. */
export async function takeWorkerLock(
  kv: PublishStorage,
  prefix: string,
  kind: LockKind,
): Promise<WorkerLock> {
  const started = Date.now();
  const key = lockKey(prefix, kind, started, randomHex(4));
  const write = (beat: number) =>
    kv.put(key, JSON.stringify({ kind, started }), {
      metadata: { t: Math.floor(started / 1000), beat },
    });
  await write(started);
  return {
    key,
    started,
    renew: () => write(Date.now()),
    // A lock left behind goes stale in minutes; failing to delete it is not the run failing.
    release: () => kv.delete(key).catch(() => {}),
  };
}

/** Whether a listed key is a lock of `kind` that still holds. */
export function holds(
  prefix: string,
  kind: LockKind,
  { name, metadata }: { name: string; metadata?: unknown },
): boolean {
  const held = parseLockKey(prefix, name);
  if (held?.kind !== kind) return false;
  const beat = (metadata as { beat?: unknown } | undefined)?.beat;
  return (
    lockExpired(kind, held.started, typeof beat === "number" ? beat : held.started) === undefined
  );
}

/** The locks of `kind` under `prefix` that still hold. */
export async function liveLocks(
  kv: Pick<PublishStorage, "list">,
  prefix: string,
  kind: LockKind,
): Promise<string[]> {
  return (await listAll(kv, lockFolder(prefix)))
    .filter((key) => holds(prefix, kind, key))
    .map((key) => key.name);
}

/** `bytes` random bytes in hex. */
export function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}
