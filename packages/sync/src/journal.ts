// The upload journal: lets a remote sync that was interrupted resume without uploading again
// what it had already confirmed written (locally, listing the namespace does the same for free).
import { isContentKey, timeName } from "./manifest.js";
import type { KvTarget } from "./target.js";

/** Folder of journal records under a prefix. */
export function journalPrefix(prefix: string): string {
  return `${prefix}uploads/`;
}

/** Key of the `index`-th journal record of the sync that started at `started` (ms). */
export function journalKey(prefix: string, started: number, index: number): string {
  return `${journalPrefix(prefix)}${timeName(started)}-${String(index).padStart(6, "0")}`;
}

/**
 * Reads the journal records written less than `maxAgeMs` ago: the content keys they list, and the
 * records' own names. Unreadable records are skipped: they only cost an upload again.
 */
export async function readJournal(
  target: KvTarget,
  prefix: string,
  maxAgeMs: number,
): Promise<{ keys: Set<string>; records: string[] }> {
  const keys = new Set<string>();
  const records: string[] = [];
  const cutoff = Date.now() - maxAgeMs;
  for (const { name } of await target.list(journalPrefix(prefix))) {
    records.push(name);
    const started = Number(/^(\d{15})-/.exec(name.slice(journalPrefix(prefix).length))?.[1]);
    if (!(started > cutoff)) continue;
    const text = await target.getText(name).catch(() => null);
    if (text === null) continue;
    try {
      const listed: unknown = JSON.parse(text);
      if (!Array.isArray(listed)) continue;
      for (const key of listed) {
        if (typeof key === "string" && isContentKey(prefix, key)) keys.add(key);
      }
    } catch {
      continue;
    }
  }
  return { keys, records };
}
