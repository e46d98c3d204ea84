// Bounded concurrency for I/O loops.

/**
 * Runs `task` over `items` with at most `limit` in flight. After a failure no new task starts;
 * once the tasks under way have settled, it rejects with the first failure, so nothing is still
 * running when the caller cleans up.
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (!failed && next < items.length) {
      try {
        await task(items[next++] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  const failure = (await Promise.allSettled(workers)).find((r) => r.status === "rejected");
  if (failure) throw failure.reason;
}
