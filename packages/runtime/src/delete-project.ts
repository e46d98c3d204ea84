// Deleting a project from inside a Worker (a platform's API or a Cron Trigger), a bounded number
// of keys per call so a project of any size goes within a Worker's KV operations.

import { isContentKey, pointerKey } from "./keys.js";
import { prefixOf, PublishError, type PublishStorage } from "./publish.js";
import { holds, listAll, takeWorkerLock } from "./worker-locks.js";

/** Options of {@link deleteProject}. */
export interface DeleteProjectOptions {
  /** Prefix of every key, before `project/<id>/`. @default "" */
  prefix?: string;
  /**
   * Keys deleted at most in this call; call again while `done` is false.
   * @default 900 (a Worker may make 1,000 KV operations in an invocation)
   */
  limit?: number;
}

/** What {@link deleteProject} did. */
export interface DeleteProjectResult {
  /** Keys deleted by this call. */
  deleted: number;
  /** Whether the project has no key left. */
  done: boolean;
}

/**
 * Deletes every key of `project`: its manifest record first, so it stops being served at once
 * and never names a body that is gone, then its history, previews, locks and content. It holds
 * a prune lock while it works, so a publish of the project is refused meanwhile, and refuses
 * (with a {@link PublishError}) while a publish runs.
 */
export async function deleteProject(
  kv: PublishStorage,
  project: string,
  options: DeleteProjectOptions = {},
): Promise<DeleteProjectResult> {
  const prefix = prefixOf(project, options.prefix);
  const limit = options.limit ?? 900;
  const lock = await takeWorkerLock(kv, prefix, "prune");
  let deleted = 0;
  try {
    const keys: string[] = [];
    for (const key of await listAll(kv, prefix)) {
      if (holds(prefix, "sync", key)) {
        throw new PublishError(
          `[kv-assets] a publish of project ${project} is running; nothing was deleted, delete it again once the publish is done`,
        );
      }
      if (key.name !== lock.key) keys.push(key.name);
    }
    // The manifest record first, content last: what is still there is never served half gone.
    const pointer = pointerKey(prefix);
    const order = (key: string): number =>
      key === pointer ? 0 : isContentKey(prefix, key) ? 2 : 1;
    keys.sort((a, b) => order(a) - order(b));
    for (const key of keys.slice(0, limit)) {
      await kv.delete(key);
      deleted += 1;
    }
    return { deleted, done: keys.length <= limit };
  } finally {
    await lock.release();
  }
}
