// npm run bench:publish — publishing through a platform Worker's upload API (`kv-assets push`
// against createUploadHandler in workerd) beside `kv-assets sync --project` to local KV, for the
// same generated site: time, requests, and KV writes per file, cold, warm and with one file changed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pushAssets, syncAssets, type SyncOptions } from "@kv-assets/sync";
import { startPlatform } from "../packages/sync/test/workerd.js";
import {
  contentOf,
  generateSite,
  machine,
  ratio,
  smoke,
  table,
  type GeneratedFile,
} from "./lib.js";

const counts = smoke ? [200] : [1_000, 10_000];
const quiet = { info: () => {}, warn: () => {} };
const rows: (string | number)[][] = [];

for (const count of counts) {
  const root = mkdtempSync(join(tmpdir(), `kv-assets-bench-publish-${count}-`));
  const dist = join(root, "dist");
  const site = generateSite(count);
  for (const file of site) {
    mkdirSync(dirname(join(dist, file.path)), { recursive: true });
    writeFileSync(join(dist, file.path), contentOf(file));
  }
  writeFileSync(
    join(root, "wrangler.jsonc"),
    JSON.stringify({
      name: "bench",
      compatibility_date: "2026-02-01",
      kv_namespaces: [{ binding: "ASSETS", id: "0123456789abcdef0123456789abcdef" }],
    }),
  );
  const changed = site.find((f) => f.path.endsWith(".html")) as GeneratedFile;
  const { mf, out } = await startPlatform(join(root, "push-state"));
  const url = new URL("/api/", await mf.ready).href;
  const kv = await mf.getKVNamespace("ASSETS");
  let requests = 0;
  const counting: typeof fetch = (input, init) => ((requests += 1), fetch(input, init));
  const push = async (project: string) => {
    requests = 0;
    const started = performance.now();
    await pushAssets({
      dir: dist,
      url,
      project,
      headers: { Authorization: "Bearer tenant-token" },
      precompress: false,
      fetch: counting,
      logger: quiet,
    });
    return { ms: performance.now() - started, requests };
  };
  const keys = async (prefix: string) => {
    let n = 0;
    let cursor: string | undefined;
    do {
      const page = await kv.list({ prefix, cursor });
      n += page.keys.length;
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return n;
  };
  const options: SyncOptions = {
    dir: dist,
    cwd: root,
    project: "bench",
    precompress: false,
    logger: quiet,
  };
  const sync = async () => {
    const started = performance.now();
    await syncAssets(options);
    return performance.now() - started;
  };

  const runs: [string, () => void][] = [
    ["cold", () => {}],
    ["warm (no change)", () => {}],
    ["one file changed", () => writeFileSync(join(dist, changed.path), contentOf(changed, 1))],
  ];
  let writtenBefore = 0;
  for (const [run, prepare] of runs) {
    prepare();
    const pushed = await push("bench");
    const written = await keys("project/bench/");
    const synced = await sync();
    rows.push([
      count.toLocaleString("en"),
      run,
      (pushed.ms / 1000).toFixed(2),
      (synced / 1000).toFixed(2),
      ratio(synced, pushed.ms),
      pushed.requests,
      ((written - writtenBefore) / count).toFixed(3),
    ]);
    writtenBefore = written;
  }
  await mf.dispose();
  rmSync(root, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
}

console.log(
  `publish benchmark on ${machine()}${smoke ? " (smoke run)" : ""}; precompression off in both\n`,
);
console.log(
  table(
    [
      "files",
      "run",
      "push through the Worker s",
      "sync to local KV s",
      "push speed-up",
      "push requests",
      "new KV keys per file (push)",
    ],
    rows,
  ),
);
console.log(
  "\npush = `pushAssets` against createUploadHandler in workerd (Miniflare, KV persisted on disk as wrangler's local state is); sync = `syncAssets` with `project` into wrangler's local state. New KV keys per file counts what the push left in the namespace (bodies, history record, pointer) over the files.",
);
