// The upload journal: lets a remote sync that was interrupted resume without uploading again
// what it had already confirmed written (locally, listing the namespace does the same for free).
import { isContentKey, journalFolder, journalTime } from "@kv-assets/runtime/format";
import type { KvTarget } from "./target.js";

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
  for (const { name } of await target.list(journalFolder(prefix))) {
    const started = journalTime(prefix, name);
    // Keys under the folder of another shape belong to a site whose prefix starts with this one's.
    if (started === undefined) continue;
    records.push(name);
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
