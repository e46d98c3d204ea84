// Pruning a project from inside a Worker (a Cron Trigger, a platform's API), with the same plan
// as `kv-assets prune` and the same lock protocol, a bounded number of deletes a call.

import { PRUNE_DEADLINE_MS } from "./lock-times.js";
import { planPrune, type PruneSource } from "./prune-plan.js";
import { prefixOf, type PublishStorage } from "./publish.js";
import { listAll, liveLocks, takeWorkerLock } from "./worker-locks.js";

/** Options of {@link pruneProject}. */
export interface PruneProjectOptions {
  /** Deploys whose keys are kept; the newest is always kept. @default 3 */
  keep?: number;
  /** Content uploaded this recently is never deleted, so a publish under way keeps it. @default 3600 */
  graceSeconds?: number;
  /** Prefix of every key, before `project/<id>/`. @default "" */
  prefix?: string;
  /**
   * Keys deleted at most in this call; call again while `done` is false.
   * @default 900 (a Worker may make 1,000 KV operations in an invocation)
   */
  limit?: number;
}

/** What {@link pruneProject} did. */
export interface PruneProjectResult {
  /** Content keys and history records deleted by this call. */
  deleted: number;
  deletedManifests: number;
  /** Whether nothing is left to delete. */
  done: boolean;
  /** Why nothing was deleted, when a publish made this call stand back. */
  skipped?: string;
}

/**
 * Deletes the content no recent deploy of `project` names, and the history records past `keep`,
 * as `kv-assets prune --project` does. It writes a prune lock first, so a publish that starts
 * meanwhile refuses; while a publish runs it keeps every deploy's keys and every record; and if a
 * publish started while it planned, it deletes nothing (call it again later).
 */
export async function pruneProject(
  kv: PublishStorage,
  project: string,
  options: PruneProjectOptions = {},
): Promise<PruneProjectResult> {
  const prefix = prefixOf(project, options.prefix);
  const limit = options.limit ?? 900;
  const source: PruneSource = {
    list: (under) => listAll(kv, under),
    getText: (key) => kv.get(key, "text"),
  };
  const publishes = () => liveLocks(kv, prefix, "sync");
  const lock = await takeWorkerLock(kv, prefix, "prune");
  try {
    const running = await publishes();
    const plan = await planPrune(source, prefix, {
      keep: options.keep ?? 3,
      graceSeconds: options.graceSeconds ?? 3600,
      careful: running.length > 0,
      recentUploadSeconds: 30 * 60,
    });
    // A publish that started while this planned may reuse any of the keys it chose.
    const now = await publishes();
    // Past its deadline a prune deletes nothing: publishes stop waiting for it then.
    if (
      Date.now() - lock.started > PRUNE_DEADLINE_MS ||
      now.some((name) => !running.includes(name))
    ) {
      return {
        deleted: 0,
        deletedManifests: 0,
        done: false,
        skipped: `a publish of project ${project} started while pruning; nothing was deleted`,
      };
    }
    const order = [...plan.journal, ...plan.deleted];
    let budget = limit;
    let deleted = 0;
    for (const key of order.slice(0, budget)) {
      await kv.delete(key);
      if (!plan.journal.includes(key)) deleted += 1;
    }
    budget -= Math.min(order.length, budget);
    // Old records go only once every key they alone named is gone.
    const records = order.length <= limit ? plan.dropped.slice(0, budget) : [];
    for (const key of records) await kv.delete(key);
    return {
      deleted,
      deletedManifests: records.length,
      done: order.length + plan.dropped.length <= limit,
    };
  } finally {
    await lock.release();
  }
}
