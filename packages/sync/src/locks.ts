// Locks that keep a prune from deleting content a sync running at the same time relies on.
//
// A sync trusts that keys of recent manifests exist and does not upload them again; a prune deletes
// keys that the newest manifests no longer reference. Run at the same time, a prune could delete a
// key that the sync has decided to reuse. Each writes a lock record before it looks at the other's
// (so at least one of them sees the other): a prune that sees a sync keeps every manifest's keys and
// deletes no history record, and a sync that sees a prune waits for it to finish.
import { randomBytes } from "node:crypto";
import { describeError, fail } from "./errors.js";
import { timeName } from "./manifest.js";
import type { KvTarget } from "./target.js";

/** What holds a lock. */
export type LockKind = "sync" | "prune";

/** A prune stops deleting this long after it started, so an older prune lock is harmless. */
export const PRUNE_DEADLINE_MS = 10 * 60 * 1000;

/** A sync lock older than this is taken to be left by a sync that died. */
export const SYNC_LOCK_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** A lock record: its key, what holds it and when it was taken (ms). */
export interface Lock {
  key: string;
  kind: LockKind;
  started: number;
}

/** Folder of the lock records under a prefix. */
export function lockPrefix(prefix: string): string {
  return `${prefix}locks/`;
}

/** Writes a lock record and returns it. */
export async function takeLock(target: KvTarget, prefix: string, kind: LockKind): Promise<Lock> {
  const started = Date.now();
  const key = `${lockPrefix(prefix)}${kind}-${timeName(started)}-${randomBytes(4).toString("hex")}`;
  await target.putMany([
    { key, value: JSON.stringify({ kind, started }), metadata: { t: Math.floor(started / 1000) } },
  ]);
  return { key, kind, started };
}

/** Deletes a lock record; a failure only leaves a lock that ages out. */
export async function releaseLock(target: KvTarget, lock: Lock): Promise<void> {
  await target.deleteMany([lock.key]).catch(() => {});
}

/** Lock records of others that are still in force, read from their names. */
export async function activeLocks(
  target: KvTarget,
  prefix: string,
  own: Lock,
  now = Date.now(),
): Promise<Lock[]> {
  const pattern = /^(sync|prune)-(\d{15})-[0-9a-f]+$/;
  const locks: Lock[] = [];
  for (const { name } of await target.list(lockPrefix(prefix))) {
    if (name === own.key) continue;
    const match = pattern.exec(name.slice(lockPrefix(prefix).length));
    if (!match) continue;
    const lock = { key: name, kind: match[1] as LockKind, started: Number(match[2]) };
    const maxAge = lock.kind === "prune" ? PRUNE_DEADLINE_MS : SYNC_LOCK_MAX_AGE_MS;
    if (now - lock.started < maxAge) locks.push(lock);
  }
  return locks;
}

/**
 * Waits until no prune holds a lock under `prefix`. A prune never deletes anything after its
 * deadline, so waiting ends at the latest when the oldest prune lock reaches it.
 */
export async function waitForPrunes(
  target: KvTarget,
  prefix: string,
  own: Lock,
  onWait: (prunes: Lock[]) => void,
  pollMs = 1000,
): Promise<void> {
  let told = false;
  for (;;) {
    const prunes = (await activeLocks(target, prefix, own)).filter((l) => l.kind === "prune");
    if (prunes.length === 0) return;
    if (!told) onWait(prunes);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
