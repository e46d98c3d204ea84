// unlockAssets: removes lock records by hand, for when a sync or prune died and its lock is in the way.
import { fail, packageLogger } from "./errors.js";
import { deadReason, describeLock, listLocks } from "./locks.js";
import { withTarget } from "./open-target.js";
import type { PruneOptions } from "./prune.js";

/** Options of {@link unlockAssets}; where to connect is given as for a prune. */
export interface UnlockOptions extends Omit<PruneOptions, "keep" | "graceSeconds" | "dryRun"> {
  /**
   * Also remove locks whose run looks alive (renewed in the last three minutes, or its process
   * still running on this host). Only when you know that run is gone.
   * @default false
   */
  force?: boolean;
}

/**
 * Removes the lock records under the prefix that belong to runs that died, and with `force` every
 * one. Refuses, removing nothing, when a lock looks alive and `force` is not set.
 */
export async function unlockAssets(options: UnlockOptions = {}): Promise<{ removed: string[] }> {
  const logger = packageLogger(options.logger ?? console);
  return withTarget(options, async (target, prefix) => {
    const locks = await listLocks(target, prefix);
    const alive = locks.filter((lock) => deadReason(lock) === undefined);
    if (alive.length > 0 && !options.force) {
      fail(
        `the ${describeLock(alive[0]!)} looks alive (renewed in the last few minutes, or its process is running); removed nothing. Stop that run, or pass --force if you are sure it is gone`,
      );
    }
    await target.deleteMany(locks.map((lock) => lock.key));
    for (const lock of locks) logger.info(`removed the ${describeLock(lock)}`);
    if (locks.length === 0)
      logger.info(`no lock under ${JSON.stringify(prefix)} in ${target.description}`);
    return { removed: locks.map((lock) => lock.key) };
  });
}
