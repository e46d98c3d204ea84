// Signals and runs that died, with the CLI in a child process: every interruption exits non-zero
// with one line, releases its lock, and leaves nothing that blocks the next run.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { isContentKey, lockFolder, pointerKey } from "@kv-assets/runtime/format";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openRemoteKv } from "../src/kv-remote.js";
import { syncAssets } from "../src/index.js";
import { releaseLock, takeLock } from "../src/locks.js";
import { startCli, waitFor } from "./cli-process.js";
import { startKvApiEmulator, type KvApiEmulator } from "./kv-api-emulator.js";
import { makeProject, memoryLogger, readLocalKv, type Project } from "./project.js";

let api: KvApiEmulator;
let project: Project;

beforeEach(async () => {
  api = await startKvApiEmulator();
  const files: Record<string, string> = {};
  for (let i = 0; i < 30; i++) files[`page-${i}.html`] = `<p>page ${i}</p>`.repeat(100 + i);
  project = await makeProject(files, {
    account_id: api.accountId,
    kv_namespaces: [{ binding: "ASSETS", id: api.namespaceId }],
  });
});

afterEach(async () => {
  await api.close();
});

const remoteEnv = (): Record<string, string> => ({
  CLOUDFLARE_API_TOKEN: api.token,
  CLOUDFLARE_BASE_URL: api.baseURL,
});

const bulkWrites = (): number =>
  api.requests.filter((r) => r.method === "PUT" && r.path.endsWith("/bulk")).length;

const locks = (): string[] => [...api.store.keys()].filter((k) => k.startsWith(lockFolder("")));

describe("a signal during kv-assets sync", () => {
  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)(
    "%s while content uploads exits %i with one line, publishes nothing and releases the lock",
    async (signal, exitCode) => {
      api.persistentFault = { delayMs: 400 };
      const run = startCli(["sync", "dist", "--remote"], project.root, remoteEnv());
      // The first bulk write is the lock, the second the content.
      await waitFor(() => bulkWrites() >= 2);
      expect(locks()).toHaveLength(1);
      run.child.kill(signal);
      const { code, err } = await run.exited;
      expect(code).toBe(exitCode);
      expect(err.trim().split("\n")).toHaveLength(1);
      expect(err).toMatch(
        new RegExp(`interrupted by ${signal}: nothing was published and \\d+ keys of new content`),
      );
      expect(api.store.has(pointerKey(""))).toBe(false);
      expect(locks()).toEqual([]);

      // The next run is not held up, and resumes.
      api.persistentFault = undefined;
      const again = await startCli(["sync", "dist", "--remote"], project.root, remoteEnv()).exited;
      expect(again.code).toBe(0);
      expect(again.out).toMatch(/30 files, 0 new \(0 B in 0 keys\)/);
    },
  );

  // Timed from when the run takes the lock of local state, just before local KV starts: early
  // signals land while it starts (when Miniflare adds listeners of its own that would exit at
  // once), later ones while files upload.
  it.each([0, 250, 500, 750, 1000])(
    "SIGINT %i ms after local KV begins to start exits 130 with one line and leaves no lock",
    async (delay) => {
      const local = await makeProject(
        Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`p${i}.html`, `<p>${i}</p>`])),
      );
      const stateLock = join(local.root, ".wrangler", "state", "v3", "kv-assets.lock");
      const run = startCli(["sync", "dist"], local.root);
      await waitFor(() => existsSync(stateLock));
      await new Promise((resolve) => setTimeout(resolve, delay));
      run.child.kill("SIGINT");
      const { code, out, err } = await run.exited;
      if (code === 0) {
        // The sync finished before the signal arrived: nothing to check but that it said so.
        expect(out).toMatch(/manifest published/);
        return;
      }
      expect(code).toBe(130);
      expect(err.trim().split("\n")).toHaveLength(1);
      expect(err).toMatch(/interrupted by SIGINT/);
      const kv = await readLocalKv(local);
      expect([...kv.keys()].filter((k) => k.startsWith(lockFolder("")))).toEqual([]);
      expect(kv.has(pointerKey(""))).toBe(false);
      expect(existsSync(join(local.root, ".wrangler", "state", "v3", "kv-assets.lock"))).toBe(
        false,
      );
    },
  );
});

describe("a signal during kv-assets prune", () => {
  it("exits 130 before deleting anything, and releases the lock", async () => {
    await syncAssets({ dir: project.dist, cwd: project.root, remote: true, ...remoteOptions() });
    await project.write("page-0.html", "<p>changed</p>");
    await syncAssets({ dir: project.dist, cwd: project.root, remote: true, ...remoteOptions() });
    const before = [...api.store.keys()].filter((k) => isContentKey("", k)).length;
    api.faults.push({ delayMs: 800, match: /\/keys$/ });
    api.requests.length = 0;
    const run = startCli(["prune", "--remote", "--keep", "1", "--grace", "0"], project.root, {
      ...remoteEnv(),
    });
    await waitFor(() => api.requests.some((r) => r.method === "GET" && r.path.endsWith("/keys")));
    run.child.kill("SIGINT");
    const { code, err } = await run.exited;
    expect(code).toBe(130);
    expect(err).toMatch(/interrupted by SIGINT before deleting anything; nothing was deleted/);
    expect([...api.store.keys()].filter((k) => isContentKey("", k))).toHaveLength(before);
    expect(locks()).toEqual([]);
  });
});

describe("a lock left by a run that died", () => {
  it("is taken over at once by the next prune when its process is gone from this host", async () => {
    await syncAssets({ dir: project.dist, cwd: project.root, remote: true, ...remoteOptions() });
    await project.write("page-0.html", "<p>changed</p>");
    api.persistentFault = { delayMs: 400 };
    api.requests.length = 0;
    const run = startCli(["sync", "dist", "--remote"], project.root, remoteEnv());
    // The lock, then the changed file's content: killed while it uploads.
    await waitFor(() => bulkWrites() >= 2);
    run.child.kill("SIGKILL");
    await run.exited;
    api.persistentFault = undefined;
    expect(locks()).toHaveLength(1);

    const started = Date.now();
    const prune = await startCli(
      ["prune", "--remote", "--keep", "1", "--grace", "0"],
      project.root,
      remoteEnv(),
    ).exited;
    expect(prune.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(prune.out).toMatch(
      new RegExp(`took over the sync lock .* by process ${run.child.pid} .*no longer running`),
    );
    // It pruned as if no sync were running: it did not keep every manifest's keys.
    expect(prune.out).not.toMatch(/is running/);
    expect(locks()).toEqual([]);
  });

  it("does not hold up the next sync", async () => {
    api.persistentFault = { delayMs: 400 };
    const run = startCli(["prune", "--remote"], project.root, remoteEnv());
    await waitFor(() => bulkWrites() >= 1 && locks().length === 1);
    run.child.kill("SIGKILL");
    await run.exited;
    api.persistentFault = undefined;
    const started = Date.now();
    const sync = await startCli(["sync", "dist", "--remote"], project.root, remoteEnv()).exited;
    expect(sync.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(sync.err).toMatch(/took over the prune lock .*no longer running/);
    expect(sync.err).not.toMatch(/waiting for a prune/);
  });
});

describe("kv-assets unlock", () => {
  it("refuses a lock whose run is alive, removes it with --force, and says what it removed", async () => {
    const target = await openRemoteKv(remoteOptions().remoteOptions);
    const lock = await takeLock(target, "", "sync");
    const refused = await startCli(["unlock", "--remote"], project.root, remoteEnv()).exited;
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/sync lock .* looks alive .*removed nothing.*--force/);
    expect(locks()).toEqual([lock.key]);

    const forced = await startCli(["unlock", "--remote", "--force"], project.root, remoteEnv())
      .exited;
    expect(forced.code).toBe(0);
    expect(forced.out).toMatch(new RegExp(`removed the sync lock ${lock.key}`));
    expect(locks()).toEqual([]);
    await releaseLock(target, lock);
    await target.close();
  });

  it("removes a lock whose heartbeat is stale without --force", async () => {
    const key = `${lockFolder("")}sync-${String(Date.now() - 10 * 60 * 1000).padStart(15, "0")}-0badf00d`;
    api.store.set(key, { value: Buffer.from("{}"), metadata: { host: "elsewhere", pid: 1 } });
    const { code, out } = await startCli(["unlock", "--remote"], project.root, remoteEnv()).exited;
    expect(code).toBe(0);
    expect(out).toMatch(/removed the sync lock .* by process 1 on elsewhere/);
    expect(locks()).toEqual([]);
  });
});

describe("kv-assets prune --dry-run", () => {
  it("reports what the same prune would do while a sync runs: nothing, and says why", async () => {
    await syncAssets({ dir: project.dist, cwd: project.root, remote: true, ...remoteOptions() });
    await project.write("page-0.html", "<p>changed</p>");
    await syncAssets({ dir: project.dist, cwd: project.root, remote: true, ...remoteOptions() });
    const target = await openRemoteKv(remoteOptions().remoteOptions);
    const lock = await takeLock(target, "", "sync");
    const args = ["prune", "--remote", "--keep", "1", "--grace", "0"];
    const dry = await startCli([...args, "--dry-run"], project.root, remoteEnv()).exited;
    expect(dry.out).toMatch(/a sync of "" is running/);
    expect(dry.out).toMatch(/would delete 0 keys and 0 old manifests/);
    await releaseLock(target, lock);
    await target.close();

    // Without the sync, it names each key it would delete by the path it served.
    const named = await startCli([...args, "--dry-run"], project.root, remoteEnv()).exited;
    expect(named.out).toMatch(/would delete 3 keys and 1 old manifests/);
    // The old body of /page-0.html and its br and gzip variants.
    expect(named.out.match(/^[0-9a-f]{16} {2}\/page-0\.html$/gm)).toHaveLength(3);
    const real = await startCli(args, project.root, remoteEnv()).exited;
    expect(real.out).toMatch(/deleted 3 keys and 1 old manifests/);
  });
});

function remoteOptions(): {
  logger: ReturnType<typeof memoryLogger>;
  remoteOptions: { apiToken: string; accountId: string; namespaceId: string; baseURL: string };
} {
  return {
    logger: memoryLogger(),
    remoteOptions: {
      apiToken: api.token,
      accountId: api.accountId,
      namespaceId: api.namespaceId,
      baseURL: api.baseURL,
    },
  };
}
