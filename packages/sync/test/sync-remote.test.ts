import { historyFolder, journalFolder, pointerKey } from "@kv-assets/runtime/format";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hashBytes } from "@kv-assets/runtime/publish";
import { manifestKeys } from "@kv-assets/runtime/format";
import { pruneAssets, syncAssets, type SyncOptions } from "../src/index.js";
import { startKvApiEmulator, type KvApiEmulator } from "./kv-api-emulator.js";
import { makeProject, memoryLogger, type Project } from "./project.js";

let api: KvApiEmulator;
let project: Project;

beforeEach(async () => {
  api = await startKvApiEmulator();
  project = await makeProject(
    Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`page-${i}.html`, `<h1>page ${i}</h1>`]),
    ),
    {
      account_id: "0123456789abcdef0123456789abcdef",
      kv_namespaces: [{ binding: "ASSETS", id: "fedcba9876543210fedcba9876543210" }],
    },
  );
});

afterEach(async () => {
  await api.close();
});

function remote({ remoteOptions, ...extra }: Partial<SyncOptions> = {}): SyncOptions {
  return {
    dir: project.dist,
    cwd: project.root,
    remote: true,
    remoteOptions: {
      apiToken: api.token,
      baseURL: api.baseURL,
      retryDelay: 10,
      timeout: 2000,
      ...remoteOptions,
    },
    logger: memoryLogger(),
    ...extra,
  };
}

/** The status of every bulk write the emulator answered, in order (-1 for a dropped connection). */
function bulkStatuses(): number[] {
  return api.requests
    .filter((r) => r.method === "PUT" && r.path.endsWith("/bulk"))
    .map((r) => r.status);
}

function bulkWrites(): number {
  return api.requests.filter(
    (r) => r.method === "PUT" && r.path.endsWith("/bulk") && r.status === 200,
  ).length;
}

/** Every key exists, and each whole value has the bytes its name hashes to. */
async function assertComplete(manifestKeysSet: Set<string>): Promise<void> {
  for (const key of manifestKeysSet) {
    const stored = api.store.get(key);
    expect(stored, `missing ${key}`).toBeDefined();
    if (!key.includes(".")) expect(await hashBytes(stored!.value)).toBe(key);
  }
}

describe("syncAssets to remote KV through the cloudflare SDK", () => {
  it("writes everything in one bulk request, then the manifest history and pointer", async () => {
    const { manifest } = await syncAssets(remote());
    await assertComplete(manifestKeys(manifest));
    expect(api.store.has(pointerKey(""))).toBe(true);
    expect([...api.store.keys()].filter((k) => k.startsWith(historyFolder("")))).toHaveLength(1);
    // the sync lock, the content, its journal record, the history record, the pointer
    expect(bulkWrites()).toBe(5);
    expect(api.store.get(Object.values(manifest.files)[0]![0])?.metadata).toMatchObject({
      t: expect.any(Number),
    });
  });

  it("makes a constant number of requests when nothing changed, however many files there are", async () => {
    await syncAssets(remote());
    api.requests.length = 0;
    const { stats } = await syncAssets(remote());
    expect(stats.newFiles).toBe(0);
    // take the sync lock, list locks, list history, read 1 record, list the upload journal, write
    // the pointer again (an unchanged deploy adds no history record), release the lock
    expect(api.requests.map((r) => `${r.method} ${r.path.split("/").slice(-1)[0]}`)).toEqual([
      "PUT bulk",
      "GET keys",
      "GET keys",
      expect.stringMatching(/^GET /),
      "GET keys",
      "PUT bulk",
      "POST delete",
    ]);
  });

  it("splits more than 10,000 keys into bulk requests within the API's limit", async () => {
    const files = Object.fromEntries(
      Array.from({ length: 10_050 }, (_, i) => [`/f/${i}.txt`, `file ${i}`]),
    );
    const { manifest } = await syncAssets(remote({ dir: undefined, files }));
    await assertComplete(manifestKeys(manifest));
    const writes = api.requests.filter((r) => r.method === "PUT" && r.path.endsWith("/bulk"));
    // the lock, two content requests and their journal record, the manifest shards, the history
    // record and the pointer
    expect(writes).toHaveLength(1 + 2 + 1 + 1 + 2);
  });

  it("pages through a key list with cursors", async () => {
    const files = Object.fromEntries(
      Array.from({ length: 2500 }, (_, i) => [`/f/${i}.txt`, `file ${i}`]),
    );
    await syncAssets(remote({ dir: undefined, files }));
    const result = await pruneAssets({ ...remote(), dryRun: true });
    expect(result.deleted).toEqual([]);
    expect(api.requests.filter((r) => r.path.endsWith("/keys")).length).toBeGreaterThanOrEqual(3);
  });

  it("waits out a 429 with Retry-After and succeeds", async () => {
    api.faults.push({ status: 429, retryAfter: 1, match: /\/bulk$/ });
    const started = Date.now();
    const { manifest } = await syncAssets(remote());
    expect(api.faults).toEqual([]);
    expect(bulkStatuses()).toContain(429);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await assertComplete(manifestKeys(manifest));
  });

  it("survives a burst of 500, 502 and 503 answers and a dropped connection", async () => {
    // The drop first, while the SDK's own backoff is shortest; the others say how long to wait.
    api.faults.push(
      { drop: true, match: /\/bulk$/ },
      { status: 500, retryAfterMs: 10, match: /\/bulk$/ },
      { status: 502, retryAfterMs: 10, match: /\/bulk$/ },
      { status: 503, retryAfterMs: 10, match: /\/bulk$/ },
    );
    const { manifest } = await syncAssets(remote());
    expect(api.faults).toEqual([]);
    expect(bulkStatuses().slice(0, 5)).toEqual([-1, 500, 502, 503, 200]);
    await assertComplete(manifestKeys(manifest));
  });

  it("retries a response slower than the timeout", async () => {
    api.faults.push({ delayMs: 2500, match: /\/bulk$/ });
    const { manifest } = await syncAssets(remote());
    expect(api.faults).toEqual([]);
    // The lock's write was sent again after the timeout: one bulk write more than the five.
    expect(bulkStatuses()).toHaveLength(6);
    await assertComplete(manifestKeys(manifest));
  });

  it("sends again the keys a bulk write reports as unsuccessful", async () => {
    // The lock's write goes through; the content's refuses 7 of its keys.
    api.faults.push({ delayMs: 0, match: /\/bulk$/ }, { unsuccessful: 7, match: /\/bulk$/ });
    const { manifest } = await syncAssets(remote());
    expect(api.faults).toEqual([]);
    expect(api.refusedKeys).toBe(7);
    // Those 7 were sent again: one bulk write more than the five.
    expect(bulkStatuses()).toHaveLength(6);
    await assertComplete(manifestKeys(manifest));
  });

  it("fails with one clear message when errors outlive the retries, publishes no manifest, and resumes", async () => {
    api.faults.push({ delayMs: 0, match: /\/bulk$/ }); // the sync lock goes through
    api.persistentFault = { status: 500 };
    const options = remote({ remoteOptions: { maxRetries: 1 } as never });
    await expect(syncAssets(options)).rejects.toThrow(
      /\[kv-assets\] uploading 30 keys to KV namespace \w+ failed after retries: .*500.*; nothing was published, re-run to resume/,
    );
    expect(api.store.has(pointerKey(""))).toBe(false);

    api.persistentFault = undefined;
    const { manifest } = await syncAssets(remote());
    await assertComplete(manifestKeys(manifest));
  });

  it("resumes after an interrupted sync without uploading again what it had confirmed", async () => {
    // One key per batch: the lock, then ten batches and their journal records go through.
    for (let i = 0; i < 21; i++) api.faults.push({ delayMs: 0, match: /\/bulk$/ });
    api.persistentFault = { status: 500 };
    const options = remote({ batchBytes: 1, remoteOptions: { maxRetries: 0 } as never });
    await expect(syncAssets({ ...options, precompress: false })).rejects.toThrow(
      /failed after retries/,
    );
    expect(api.store.has(pointerKey(""))).toBe(false);

    api.persistentFault = undefined;
    const { manifest, stats } = await syncAssets(remote({ precompress: false }));
    await assertComplete(manifestKeys(manifest));
    expect(stats.uploadedKeys - 2).toBe(30 - 10);
    expect([...api.store.keys()].filter((k) => k.startsWith(journalFolder("")))).toEqual([]);
  });

  it("never shows the API token in an error", async () => {
    const options = remote({
      remoteOptions: { apiToken: "wrong-token-abcdef123456", maxRetries: 0 } as never,
    });
    const error = (await syncAssets(options).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(
      /401 Authentication error \(code 10000\); check that CLOUDFLARE_API_TOKEN is valid and has Workers KV Storage: Edit/,
    );
    expect(error.message).not.toContain("wrong-token-abcdef123456");
    expect(error.message).not.toContain(api.token);
  });

  it("asks for CLOUDFLARE_API_TOKEN when no token is set", async () => {
    const saved = process.env.CLOUDFLARE_API_TOKEN;
    delete process.env.CLOUDFLARE_API_TOKEN;
    try {
      await expect(
        syncAssets({ dir: project.dist, cwd: project.root, remote: true, logger: memoryLogger() }),
      ).rejects.toThrow(
        "[kv-assets] remote sync needs an API token: set CLOUDFLARE_API_TOKEN to a token with Workers KV Storage: Edit",
      );
    } finally {
      if (saved !== undefined) process.env.CLOUDFLARE_API_TOKEN = saved;
    }
  });
});

describe("pruneAssets on remote KV", () => {
  async function deploy(version: number): Promise<Set<string>> {
    await project.write("index.html", `<h1>version ${version}</h1>`);
    const { manifest } = await syncAssets(remote());
    return manifestKeys(manifest);
  }

  it("keeps the keys of the newest N manifests and deletes the rest, after the grace period", async () => {
    const v1 = await deploy(1);
    await new Promise((r) => setTimeout(r, 5));
    const v2 = await deploy(2);
    await new Promise((r) => setTimeout(r, 5));
    const v3 = await deploy(3);
    const onlyV1 = [...v1].filter((k) => !v2.has(k) && !v3.has(k));
    expect(onlyV1).toHaveLength(1);

    const fresh = await pruneAssets({ ...remote(), keep: 2 });
    expect(fresh.deleted).toEqual([]);
    expect(fresh.deletedManifests).toHaveLength(1);

    const result = await pruneAssets({ ...remote(), keep: 2, graceSeconds: -10 });
    expect(result.deleted).toEqual(onlyV1);
    for (const key of [...v2, ...v3]) expect(api.store.has(key)).toBe(true);
    expect(api.store.has(onlyV1[0]!)).toBe(false);
  });

  it("never deletes a key the newest manifest references, even with keep 1", async () => {
    await deploy(1);
    const v2 = await deploy(2);
    await pruneAssets({ ...remote(), keep: 1, graceSeconds: -10 });
    await assertComplete(v2);
  });

  it("uploads again content of an older deploy that prune deleted, when a later deploy brings it back", async () => {
    const v1 = await deploy(1);
    await deploy(2);
    await pruneAssets({ ...remote(), keep: 1, graceSeconds: -10 });
    const v3 = await deploy(1);
    expect(v3).toEqual(v1);
    await assertComplete(v3);
  });

  it("lists without deleting in a dry run", async () => {
    await deploy(1);
    await deploy(2);
    const before = api.store.size;
    const result = await pruneAssets({ ...remote(), keep: 1, graceSeconds: -10, dryRun: true });
    expect(result.deleted.length).toBeGreaterThan(0);
    expect(api.store.size).toBe(before);
  });

  it("stops without deleting when a kept manifest record is unreadable", async () => {
    await deploy(1);
    const record = [...api.store.keys()].find((k) => k.startsWith(historyFolder("")))!;
    api.store.set(record, { value: Buffer.from("{not json") });
    const before = api.store.size;
    await expect(pruneAssets({ ...remote(), graceSeconds: -10 })).rejects.toThrow(
      /manifest record manifests\/\d+ is not valid .*prune stopped without deleting anything/,
    );
    expect(api.store.size).toBe(before);
  });

  it("refuses keep 0", async () => {
    await expect(pruneAssets({ ...remote(), keep: 0 })).rejects.toThrow(
      /keep must be a whole number of at least 1/,
    );
  });
});
