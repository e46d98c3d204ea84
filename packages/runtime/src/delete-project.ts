// Deleting a project from inside a Worker (a platform's API or a Cron Trigger), a bounded number
// of keys per call so a project of any size goes within a Worker's KV operations.

import { isContentKey, lockKey, parseLockKey, pointerKey } from "./keys.js";
import { lockExpired } from "./lock-times.js";
import { prefixOf, PublishError, type PublishStorage } from "./publish.js";

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
  const started = Date.now();
  const random = [...crypto.getRandomValues(new Uint8Array(4))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  const lock = lockKey(prefix, "prune", started, random);
  await kv.put(lock, JSON.stringify({ kind: "prune", started }), {
    metadata: { t: Math.floor(started / 1000), beat: started },
  });
  let deleted = 0;
  try {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await kv.list({ prefix, ...(cursor ? { cursor } : {}) });
      for (const { name, metadata } of page.keys) {
        const held = parseLockKey(prefix, name);
        if (held?.kind === "sync") {
          const beat = (metadata as { beat?: unknown } | undefined)?.beat;
          const alive =
            lockExpired("sync", held.started, typeof beat === "number" ? beat : held.started) ===
            undefined;
          if (alive) {
            throw new PublishError(
              `[kv-assets] a publish of project ${project} is running; nothing was deleted, delete it again once the publish is done`,
            );
          }
        }
        if (name !== lock) keys.push(name);
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
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
    await kv.delete(lock).catch(() => {});
  }
}
