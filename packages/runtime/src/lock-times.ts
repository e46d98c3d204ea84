// When a run's lock record stops holding: the rule every publisher and prune applies to the
// others' locks, whether it runs in Node (the sync, prune) or in a Worker (publishProject).

import type { LockKind } from "./keys.js";

/** A prune stops deleting this long after it started, so an older prune lock is harmless. */
export const PRUNE_DEADLINE_MS = 10 * 60 * 1000;

/** How often a run writes its lock again to show it is alive. */
export const HEARTBEAT_MS = 30 * 1000;

/**
 * A lock whose heartbeat is older than this is taken to be left by a run that died. Remote KV may
 * list a write up to a minute late, so this allows for that and for a few missed heartbeats.
 */
export const STALE_MS = 3 * 60 * 1000;

/** Why a lock of `kind` taken at `started` and last renewed at `beat` (ms) no longer holds, if so. */
export function lockExpired(
  kind: LockKind,
  started: number,
  beat: number,
  now = Date.now(),
): string | undefined {
  if (kind === "prune" && now - started >= PRUNE_DEADLINE_MS) {
    return `prunes delete nothing ${PRUNE_DEADLINE_MS / 60000} minutes after they start`;
  }
  if (now - beat < STALE_MS) return undefined;
  return `it was last renewed ${Math.round((now - beat) / 60000)} minutes ago`;
}
