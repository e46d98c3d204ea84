// The sync killed at random points (SIGKILL of the CLI in a child process) against the emulated
// remote API: no manifest ever names a missing key, and a re-run finishes the job.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { historyFolder, historyKey, pointerKey } from "@kv-assets/runtime/format";
import { hashBytes } from "@kv-assets/runtime/publish";
import { manifestKeys } from "@kv-assets/runtime/format";
import { parseManifestRecord } from "../src/manifest.js";
import { startKvApiEmulator, type KvApiEmulator } from "./kv-api-emulator.js";
import { makeProject, type Project } from "./project.js";

const cli = join(import.meta.dirname, "..", "dist", "bin.js");
let api: KvApiEmulator;
let project: Project;

beforeEach(async () => {
  api = await startKvApiEmulator();
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`page-${i}.html`] = `<p>page ${i}</p>`.repeat(200 + i);
  project = await makeProject(files, {
    account_id: api.accountId,
    kv_namespaces: [{ binding: "ASSETS", id: api.namespaceId }],
  });
  // Every bulk write takes a while, so kills land before, during and between them.
  api.persistentFault = { delayMs: 120 };
});

afterEach(async () => {
  await api.close();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Where each kill landed: bulk writes the run had sent, and whether it had published yet. */
const landed: { bulkWrites: number; published: boolean }[] = [];

/**
 * Runs `kv-assets sync --remote`, killing it `killAfterMs` after its first request reached the API
 * (before that it only starts up, which is no test of anything); resolves its exit code.
 */
function runSync(killAfterMs?: number): Promise<number | null> {
  const requestsBefore = api.requests.length;
  const historyBefore = [...api.store.keys()].filter((k) => k.startsWith(historyFolder(""))).length;
  const child = spawn(process.execPath, [cli, "sync", project.dist, "--remote"], {
    cwd: project.root,
    env: {
      ...process.env,
      CLOUDFLARE_API_TOKEN: api.token,
      CLOUDFLARE_BASE_URL: api.baseURL,
    },
    stdio: "ignore",
  });
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      exited = true;
      resolve(code);
    }),
  );
  if (killAfterMs !== undefined) {
    void (async () => {
      while (api.requests.length === requestsBefore && !exited) await sleep(2);
      await sleep(killAfterMs);
      if (exited) return;
      const sent = api.requests.slice(requestsBefore);
      const history = [...api.store.keys()].filter((k) => k.startsWith(historyFolder(""))).length;
      landed.push({
        bulkWrites: sent.filter((r) => r.method === "PUT" && r.path.endsWith("/bulk")).length,
        published: history > historyBefore,
      });
      child.kill("SIGKILL");
    })();
  }
  return exit;
}

/** The published manifest, if any, names only keys that exist with the bytes their names hash to. */
async function assertConsistent(): Promise<Set<string> | null> {
  const pointer = api.store.get(pointerKey(""));
  if (!pointer) return null;
  let record = parseManifestRecord(pointer.value.toString("utf8"));
  if (!("files" in record)) {
    const history = api.store.get(historyKey("", record.created!));
    expect(history, "the history record of a sharded pointer").toBeDefined();
    record = parseManifestRecord(history!.value.toString("utf8"));
  }
  if (!("files" in record)) throw new Error("history record is not a whole manifest");
  const keys = manifestKeys(record);
  for (const key of keys) {
    const stored = api.store.get(key);
    expect(stored, `the manifest names ${key}, which is missing`).toBeDefined();
    expect(await hashBytes(stored!.value)).toBe(key.split(".")[0]);
  }
  return keys;
}

describe("a sync killed at random points", () => {
  it("never leaves a manifest that names a missing key, and a re-run completes", async () => {
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 8; round++) {
      // Change some files each round, so every run has something new to upload.
      for (let i = 0; i < 5; i++) {
        const page = Math.floor(random() * 40);
        await project.write(`page-${page}.html`, `<p>page ${page}, round ${round}</p>`.repeat(300));
      }
      const code = await runSync(Math.floor(random() * 900));
      expect([0, null]).toContain(code);
      await assertConsistent();
    }
    // Some kills landed while content was uploading: after the lock and a content write were
    // sent, before the run's history record was written.
    expect(landed.filter((l) => l.bulkWrites >= 2 && !l.published).length).toBeGreaterThan(0);

    api.requests.length = 0;
    expect(await runSync()).toBe(0);
    const keys = await assertConsistent();
    expect(keys).not.toBeNull();
    // The finished manifest names exactly the files on disk now.
    const pointer = parseManifestRecord(api.store.get(pointerKey(""))!.value.toString("utf8"));
    expect("files" in pointer && Object.keys(pointer.files).length).toBe(40);

    // Resuming does not upload again what is already there: a second run uploads no content.
    api.requests.length = 0;
    expect(await runSync()).toBe(0);
    const uploaded = api.requests.filter((r) => r.method === "PUT" && r.path.endsWith("/bulk"));
    expect(uploaded).toHaveLength(2); // the lock and the pointer: an unchanged deploy adds no record
  }, 120_000);
});
