// Syncs and prunes that overlap, and a key list that lags writes, against the emulated remote API;
// and two runs on one folder of local state.
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lockFolder, lockKey, pointerKey } from "@kv-assets/runtime/format";
import type { AssetManifest } from "@kv-assets/runtime";
import { hashBytes } from "@kv-assets/runtime/publish";
import { manifestKeys } from "@kv-assets/runtime/format";
import { openRemoteKv } from "../src/kv-remote.js";
import { pruneAssets, syncAssets, type SyncOptions } from "../src/index.js";
import { releaseLock, takeLock } from "../src/locks.js";
import { startKvApiEmulator, type KvApiEmulator } from "./kv-api-emulator.js";
import { startCli } from "./cli-process.js";
import { makeProject, memoryLogger, readLocalKv, type Project } from "./project.js";

let api: KvApiEmulator;
let project: Project;

beforeEach(async () => {
  api = await startKvApiEmulator();
  project = await makeProject(
    { "index.html": "<h1>home</h1>", "page.html": "<p>version 1</p>" },
    {
      account_id: "0123456789abcdef0123456789abcdef",
      kv_namespaces: [{ binding: "ASSETS", id: "fedcba9876543210fedcba9876543210" }],
    },
  );
});

afterEach(async () => {
  await api.close();
});

function remote(
  extra: Partial<SyncOptions> = {},
): SyncOptions & { logger: ReturnType<typeof memoryLogger> } {
  return {
    dir: project.dist,
    cwd: project.root,
    remote: true,
    precompress: false,
    remoteOptions: { apiToken: api.token, baseURL: api.baseURL, retryDelay: 10, timeout: 5000 },
    logger: memoryLogger(),
    ...extra,
  } as SyncOptions & { logger: ReturnType<typeof memoryLogger> };
}

/** The sync engine's own remote target, pointed at the emulator, to take locks by hand. */
function emulatedTarget(): ReturnType<typeof openRemoteKv> {
  return openRemoteKv({
    apiToken: api.token,
    accountId: api.accountId,
    namespaceId: api.namespaceId,
    baseURL: api.baseURL,
  });
}

/** Every key the published manifest references exists, with the bytes its name hashes to. */
async function assertPublishedComplete(): Promise<void> {
  const pointer = api.store.get(pointerKey(""));
  expect(pointer).toBeDefined();
  const manifest = JSON.parse(pointer!.value.toString("utf8"));
  for (const key of manifestKeys(manifest)) {
    const stored = api.store.get(key);
    expect(stored, `missing ${key}`).toBeDefined();
    expect(await hashBytes(stored!.value)).toBe(key);
  }
}

describe("a prune that overlaps a sync", () => {
  it("never deletes an old key the running sync reuses, even with keep 1 and no grace", async () => {
    await syncAssets(remote()); // M1: page v1
    await project.write("page.html", "<p>version 2</p>");
    await syncAssets(remote()); // M2: page v2; v1's key is now only in M1
    await project.write("page.html", "<p>version 1</p>");
    const v1 = await hashBytes(new TextEncoder().encode("<p>version 1</p>"));

    // The third sync trusts v1's key from M1 and uploads nothing new; hold it in its history write.
    api.faults.push({ delayMs: 0, match: /\/bulk$/ }, { delayMs: 1500, match: /\/bulk$/ });
    const syncing = syncAssets(remote());
    await new Promise((resolve) => setTimeout(resolve, 500));
    const prune = remote({ keep: 1 } as Partial<SyncOptions>);
    const result = await pruneAssets({ ...prune, keep: 1, graceSeconds: 0 });
    await syncing;

    expect(result.deleted).not.toContain(v1);
    expect(prune.logger.lines.join("\n")).toMatch(
      /a sync of "" is running .*keeping the keys of every manifest/,
    );
    await assertPublishedComplete();
  });

  it("deletes nothing when a sync starts between its decision and its deletes", async () => {
    await syncAssets(remote());
    await project.write("page.html", "<p>version 2</p>");
    await syncAssets(remote());
    const target = await emulatedTarget();
    // Hold the prune's second look at the locks, and start a sync meanwhile.
    api.faults.push(
      { delayMs: 0, match: /\/keys$/ },
      { delayMs: 0, match: /\/keys$/ },
      { delayMs: 0, match: /\/keys$/ },
      { delayMs: 800, match: /\/keys$/ },
    );
    const logger = memoryLogger();
    const pruning = pruneAssets({ ...remote(), logger, keep: 1, graceSeconds: 0 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const lock = await takeLock(target, "", "sync");
    const result = await pruning;
    await releaseLock(target, lock);
    await target.close();
    expect(result.deleted).toEqual([]);
    expect(logger.lines.join("\n")).toMatch(/a sync of "" started while pruning; deleted nothing/);
  });

  it("makes a sync wait for a running prune, then publish", async () => {
    await syncAssets(remote());
    const target = await emulatedTarget();
    const lock = await takeLock(target, "", "prune");
    const options = remote();
    const syncing = syncAssets(options);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(options.logger.lines.join("\n")).toMatch(/waiting for a prune of "" that started/);
    await releaseLock(target, lock);
    await syncing;
    await target.close();
    await assertPublishedComplete();
  });

  it("ignores a prune lock past the prune deadline (a prune that died)", async () => {
    const stale = lockKey("", "prune", Date.now() - 11 * 60 * 1000, "deadbeef");
    api.store.set(stale, { value: Buffer.from("{}"), written: 0 });
    const started = Date.now();
    await syncAssets(remote());
    expect(Date.now() - started).toBeLessThan(5000);
    await assertPublishedComplete();
  });

  it("leaves no lock behind after a sync and a prune", async () => {
    await syncAssets(remote());
    await pruneAssets({ ...remote(), keep: 1 });
    expect([...api.store.keys()].filter((k) => k.startsWith(lockFolder("")))).toEqual([]);
  });
});

describe("a key list that lags writes (eventual consistency)", () => {
  it("publishes a complete manifest and prunes nothing in use when the list lags 2 s", async () => {
    api.listLagMs = 2000;
    await syncAssets(remote());
    await project.write("page.html", "<p>version 2</p>");
    await syncAssets(remote());
    await project.write("page.html", "<p>version 3</p>");
    await syncAssets(remote());
    await pruneAssets({ ...remote(), keep: 1, graceSeconds: 0 });
    await assertPublishedComplete();
    await project.write("page.html", "<p>version 1</p>");
    await syncAssets(remote());
    await assertPublishedComplete();
  });
});

describe("two runs on the same local state", () => {
  it("both succeed, one after the other, and the published manifest is complete", async () => {
    const local = await makeProject(
      Object.fromEntries(Array.from({ length: 900 }, (_, i) => [`p${i}.html`, `<p>${i}</p>`])),
    );
    const [a, b] = await Promise.all([
      startCli(["sync", "dist"], local.root).exited,
      startCli(["sync", "dist"], local.root).exited,
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.err + b.err).toMatch(/waiting for process \d+ on .* to finish with local state/);
    const kv = await readLocalKv(local);
    const manifest = JSON.parse(new TextDecoder().decode(kv.get(pointerKey("")))) as AssetManifest;
    for (const key of manifestKeys(manifest)) expect(kv.has(key), key).toBe(true);
  });

  it("takes over the lock of a run that died", async () => {
    const local = await makeProject({ "index.html": "x" });
    const state = join(local.root, ".wrangler", "state", "v3");
    await mkdir(state, { recursive: true });
    const dead = spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
    await writeFile(
      join(state, "kv-assets.lock"),
      JSON.stringify({ host: hostname(), pid: dead, started: Date.now() }),
    );
    const run = await startCli(["sync", "dist"], local.root).exited;
    expect(run.code).toBe(0);
    expect(run.err).toMatch(
      new RegExp(`took over the lock of local state .*process ${dead} is no longer running`),
    );
  });
});
