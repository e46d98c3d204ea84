// One contract for every KvTarget a sync writes to: wrangler's local KV and local R2, the remote
// KV API (through the emulator), and the in-memory target the property tests use.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRemoteKv } from "../src/kv-remote.js";
import { openTarget } from "../src/open-target.js";
import type { KvTarget } from "../src/target.js";
import { startKvApiEmulator } from "./kv-api-emulator.js";
import { memoryTarget } from "./memory-target.js";
import { makeProject } from "./project.js";

interface Driver {
  target: KvTarget;
  close(): Promise<void>;
}

const drivers: [string, () => Promise<Driver>][] = [
  [
    "local KV",
    async () => {
      const project = await makeProject({});
      const target = await openTarget({ cwd: project.root });
      return { target, close: () => target.close() };
    },
  ],
  [
    "local R2",
    async () => {
      const project = await makeProject(
        {},
        {
          kv_namespaces: [{ binding: "ASSETS", id: "0f2ac74b498b48028cb68387c421e279" }],
          r2_buckets: [{ binding: "BUCKET", bucket_name: "contract" }],
        },
      );
      const opened = await openTarget({ cwd: project.root, r2: { binding: "BUCKET" } });
      return { target: opened.bucket!, close: () => opened.close() };
    },
  ],
  [
    "remote KV (emulated API)",
    async () => {
      const api = await startKvApiEmulator();
      const target = await openRemoteKv({
        apiToken: api.token,
        accountId: api.accountId,
        namespaceId: api.namespaceId,
        baseURL: api.baseURL,
      });
      return { target, close: async () => (await target.close(), await api.close()) };
    },
  ],
  ["memory", async () => ({ target: memoryTarget(), close: async () => {} })],
];

describe.each(drivers)("KvTarget: %s", (_, open) => {
  let driver: Driver;
  let target: KvTarget;
  let run = 0;
  // Each test writes under a prefix of its own, so they do not see each other's keys.
  const fresh = (): string => `contract-${++run}/`;
  beforeAll(async () => {
    driver = await open();
    target = driver.target;
  }, 60_000);
  afterAll(() => driver.close());

  it("writes text and bytes that read back, and reads a missing key as null", async () => {
    const at = fresh();
    await target.putMany([
      { key: `${at}text`, value: "héllo" },
      { key: `${at}bytes`, value: new TextEncoder().encode("bytes ✓") },
    ]);
    expect(await target.getText(`${at}text`)).toBe("héllo");
    expect(await target.getText(`${at}bytes`)).toBe("bytes ✓");
    expect(await target.getText(`${at}missing`)).toBeNull();
  });

  it("lists exactly the keys under a prefix, with their metadata", async () => {
    const at = fresh();
    await target.putMany([
      { key: `${at}a`, value: "1", metadata: { t: 100 } },
      { key: `${at}b/c`, value: "2", metadata: { t: 200 } },
      { key: `${at.slice(0, -1)}x`, value: "outside" },
    ]);
    const listed = (await target.list(at)).sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(listed).toEqual([
      { name: `${at}a`, metadata: { t: 100 } },
      { name: `${at}b/c`, metadata: { t: 200 } },
    ]);
  });

  it("lists more keys than one page holds", async () => {
    const at = fresh();
    const keys = Array.from({ length: 1100 }, (_, i) => `${at}${String(i).padStart(4, "0")}`);
    await target.putMany(keys.map((key) => ({ key, value: "x" })));
    expect((await target.list(at)).map((k) => k.name).sort()).toEqual(keys);
  });

  it("keeps odd key names as they are", async () => {
    const at = fresh();
    const names = ["a b", "ç/é", "q?x", "h#x", "p%20", "emoji 🙂", "dot.0"].map((n) => at + n);
    await target.putMany(names.map((key) => ({ key, value: key })));
    expect((await target.list(at)).map((k) => k.name).sort()).toEqual([...names].sort());
    for (const key of names) expect(await target.getText(key)).toBe(key);
  });

  it("writes a value of a mebibyte whole", async () => {
    const at = fresh();
    const value = "0123456789abcdef".repeat(65536);
    await target.putMany([{ key: `${at}big`, value }]);
    expect(await target.getText(`${at}big`)).toBe(value);
  });

  it("deletes keys, and deleting a key it does not hold is no error", async () => {
    const at = fresh();
    await target.putMany([
      { key: `${at}a`, value: "1" },
      { key: `${at}b`, value: "2" },
    ]);
    await target.deleteMany([`${at}a`, `${at}never-written`]);
    expect((await target.list(at)).map((k) => k.name)).toEqual([`${at}b`]);
    expect(await target.getText(`${at}a`)).toBeNull();
  });
});
