// Locks that keep a prune from deleting content a sync running at the same time relies on.
//
// A sync trusts that keys of recent manifests exist and does not upload them again; a prune deletes
// keys that the newest manifests no longer reference. Run at the same time, a prune could delete a
// key that the sync has decided to reuse. Each writes a lock record before it looks at the other's
// (so at least one of them sees the other): a prune that sees a sync keeps every manifest's keys and
// deletes no history record, and a sync that sees a prune waits for it to finish.
//
// A lock names its owner (host and process) and is written again every HEARTBEAT_MS while the run
// lasts, so a lock left by a run that died is recognised: at once on the same host, where the
// process can be looked up, and elsewhere once its heartbeat is older than STALE_MS.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  HEARTBEAT_MS,
  lockExpired,
  lockFolder,
  lockKey,
  parseLockKey,
  PRUNE_DEADLINE_MS,
  STALE_MS,
  type LockKind,
} from "@kv-assets/runtime/format";
import type { KvTarget } from "./target.js";

export type { LockKind };
export { HEARTBEAT_MS, PRUNE_DEADLINE_MS, STALE_MS };

/** A lock record: its key, what holds it, when it was taken (ms) and by whom. */
export interface Lock {
  key: string;
  kind: LockKind;
  started: number;
  /** Host and process of the run that holds it, when the record says. */
  owner?: { host: string; pid: number };
  /** When its holder last showed it was alive (ms). */
  beat: number;
}

/** A lock that is held, as {@link takeLock} returns it; {@link releaseLock} ends its heartbeat. */
export interface HeldLock extends Lock {
  /** Ends the heartbeat; resolves once a renewal under way has landed. */
  stop(): Promise<void>;
}

/** Writes a lock record naming this process, keeps it alive until released, and returns it. */
export async function takeLock(
  target: KvTarget,
  prefix: string,
  kind: LockKind,
): Promise<HeldLock> {
  const started = Date.now();
  const key = lockKey(prefix, kind, started, randomBytes(4).toString("hex"));
  const owner = { host: hostname(), pid: process.pid };
  const write = (beat: number): Promise<void> =>
    target.putMany([
      {
        key,
        value: JSON.stringify({ kind, started, ...owner }),
        metadata: { t: Math.floor(started / 1000), ...owner, beat },
      },
    ]);
  await write(started);
  // A missed heartbeat is not fatal: the next one, or the owner check on the same host, covers it.
  let renewing = Promise.resolve();
  const timer = setInterval(() => {
    renewing = write(Date.now()).catch(() => {});
  }, HEARTBEAT_MS);
  timer.unref();
  return {
    key,
    kind,
    started,
    owner,
    beat: started,
    stop: async () => {
      clearInterval(timer);
      await renewing;
    },
  };
}

/** Ends a lock's heartbeat and deletes its record; a failure only leaves a lock that goes stale. */
export async function releaseLock(target: KvTarget, lock: HeldLock): Promise<void> {
  // A renewal landing after the delete would bring the lock back.
  await lock.stop();
  await target.deleteMany([lock.key]).catch(() => {});
}

/** Every lock record of the site under `prefix`, read from the listing (names and metadata). */
export async function listLocks(target: KvTarget, prefix: string): Promise<Lock[]> {
  const locks: Lock[] = [];
  for (const { name, metadata } of await target.list(lockFolder(prefix))) {
    const parsed = parseLockKey(prefix, name);
    if (!parsed) continue;
    const meta = (metadata ?? {}) as { host?: unknown; pid?: unknown; beat?: unknown };
    const owner =
      typeof meta.host === "string" && Number.isInteger(meta.pid)
        ? { host: meta.host, pid: meta.pid as number }
        : undefined;
    const beat = typeof meta.beat === "number" ? meta.beat : parsed.started;
    locks.push({ key: name, ...parsed, owner, beat });
  }
  return locks;
}

/** Why a lock no longer holds, or `undefined` while its run may still be going. */
export function deadReason(lock: Lock, now = Date.now()): string | undefined {
  if (ownerGone(lock.owner)) return `process ${lock.owner.pid} on this host is no longer running`;
  return lockExpired(lock.kind, lock.started, lock.beat, now);
}

/**
 * Whether `owner` is a process of this host that is no longer running: its lock can be taken
 * over at once. The rule of run locks in KV and of the lock of local state alike.
 */
export function ownerGone<T extends { host: string; pid: number }>(
  owner: T | undefined,
): owner is T {
  return owner !== undefined && owner.host === hostname() && !isRunning(owner.pid);
}

/** Why a lock last renewed at `renewed` (ms) is left by a run that died, if it is. */
export function notRenewed(renewed: number, now = Date.now()): string | undefined {
  return lockExpired("sync", renewed, renewed, now);
}

/** Says which lock it is, who holds it and since when, for messages. */
export function describeLock(lock: Lock): string {
  const owner = lock.owner ? ` by process ${lock.owner.pid} on ${lock.owner.host}` : "";
  return `${lock.kind} lock ${lock.key} taken ${new Date(lock.started).toISOString()}${owner}`;
}

/**
 * Locks of others that are still in force. Locks left by runs that died are deleted, each with a
 * line to `onDead`, unless `dryRun` is set (then they are only reported).
 */
export async function activeLocks(
  target: KvTarget,
  prefix: string,
  own: Lock | undefined,
  onDead: (message: string) => void,
  { dryRun = false } = {},
): Promise<Lock[]> {
  const active: Lock[] = [];
  const dead: string[] = [];
  for (const lock of await listLocks(target, prefix)) {
    if (lock.key === own?.key) continue;
    const reason = deadReason(lock);
    if (reason === undefined) {
      active.push(lock);
      continue;
    }
    dead.push(lock.key);
    onDead(`${dryRun ? "would take over" : "took over"} the ${describeLock(lock)}: ${reason}`);
  }
  if (!dryRun && dead.length > 0) await target.deleteMany(dead);
  return active;
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
  onDead: (message: string) => void,
  pollMs = 1000,
): Promise<void> {
  let told = false;
  for (;;) {
    const prunes = (await activeLocks(target, prefix, own, onDead)).filter(
      (l) => l.kind === "prune",
    );
    if (prunes.length === 0) return;
    if (!told) onWait(prunes);
    told = true;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Whether process `pid` of this host is running. */
export function isRunning(pid: number): boolean {
  // `kill(pid, 0)` checks that a process exists without signalling it; EPERM means it exists but
  // belongs to another user.
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
