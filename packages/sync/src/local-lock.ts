// One kv-assets run at a time on a folder of local state: two processes writing wrangler's local
// KV at once make its writes fail at random, so a second run waits for the first.
import { hostname } from "node:os";
import { mkdir, open, readFile, stat, unlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import { HEARTBEAT_MS, notRenewed, ownerGone } from "./locks.js";

const POLL_MS = 200;

interface Holder {
  host: string;
  pid: number;
  started: number;
}

/**
 * Takes the lock of the local state in `dir`, waiting while another live run holds it (telling
 * `onWait` once), and taking over one left by a run that died. Resolves to its release.
 */
export async function lockLocalState(
  dir: string,
  onWait: (message: string) => void,
): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, "kv-assets.lock");
  const me: Holder = { host: hostname(), pid: process.pid, started: Date.now() };
  let told = false;
  for (;;) {
    const handle = await open(file, "wx").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "EEXIST") return null;
      throw error;
    });
    if (handle) {
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      const timer = setInterval(() => {
        const now = new Date();
        void utimes(file, now, now).catch(() => {});
      }, HEARTBEAT_MS);
      timer.unref();
      return async () => {
        clearInterval(timer);
        // Remove the file only while it is still this run's (a run that took it over owns it now).
        if (sameHolder(await readHolder(file), me)) await unlink(file).catch(() => {});
      };
    }
    const holder = await readHolder(file);
    const dead = await deadReason(file, holder);
    if (dead) {
      onWait(`took over the lock of local state in ${dir}: ${dead}`);
      // Compare just before removing, so a run that took it over a moment ago keeps it.
      const now = await readHolder(file);
      if (holder === undefined ? now === undefined : sameHolder(now, holder))
        await unlink(file).catch(() => {});
      continue;
    }
    if (!told) {
      const who = holder ? `process ${holder.pid} on ${holder.host}` : "another run";
      onWait(
        `waiting for ${who} to finish with local state in ${dir} (two runs at once would corrupt each other's writes)`,
      );
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function readHolder(file: string): Promise<Holder | undefined> {
  const text = await readFile(file, "utf8").catch(() => null);
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (
      typeof value.host === "string" &&
      Number.isInteger(value.pid) &&
      typeof value.started === "number"
    )
      return value as Holder;
  } catch {
    // Being written right now, or damaged: judged by its age below.
  }
  return undefined;
}

// The rules of run locks: the holder's process is gone from this host, or the file was not
// touched (renewed) for the stale time.
async function deadReason(file: string, holder: Holder | undefined): Promise<string | undefined> {
  if (ownerGone(holder)) return `process ${holder.pid} is no longer running`;
  const touched = await stat(file).then(
    (info) => info.mtimeMs,
    () => undefined,
  );
  return touched === undefined ? undefined : notRenewed(touched);
}

function sameHolder(a: Holder | undefined, b: Holder | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.host === b.host &&
    a.pid === b.pid &&
    a.started === b.started
  );
}
