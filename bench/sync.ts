// npm run bench:sync — cold, warm and one-file-changed syncs of generated sites against local KV,
// beside `wrangler kv bulk put --local` of the same files; requests and bytes against the emulated
// remote API beside the Workers Sites upload algorithm; peak memory; hashing throughput; and the
// memory of syncing one large file at two sizes, which must not grow with the file.
import { execFileSync } from "node:child_process";
import {
  closeSync,
  readdirSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { brotliCompressSync, gzipSync, constants as zlibConstants } from "node:zlib";
import { Zstd } from "@hpcc-js/wasm-zstd";
import Cloudflare from "cloudflare";
import { hashBytes } from "@kv-assets/runtime/publish";
import { ZSTD_LEVEL } from "../packages/sync/src/precompress.js";
import { openTarget } from "../packages/sync/src/open-target.js";
import { syncAssets, type SyncOptions } from "@kv-assets/sync";
import { startKvApiEmulator } from "../packages/sync/test/kv-api-emulator.js";
import {
  contentOf,
  generateSite,
  machine,
  ratio,
  smoke,
  table,
  type GeneratedFile,
} from "./lib.js";

const counts = smoke
  ? [100]
  : (process.env.BENCH_SYNC_COUNTS ?? "1000,10000,50000").split(",").map(Number);
const wranglerBin = join(
  import.meta.dirname,
  "..",
  "node_modules",
  "wrangler",
  "bin",
  "wrangler.js",
);
const quiet = { info() {}, warn() {} };
const local: (string | number)[][] = [];
// Load wrangler and the local KV proxy once before measuring, so memory figures are the sync's own.
await warmUp();
const remote: (string | number)[][] = [];
const hashing: (string | number)[][] = [];
const precompressed: (string | number)[][] = [];

for (const count of counts) {
  const root = mkdtempSync(join(tmpdir(), `kv-assets-bench-sync-${count}-`));
  const dist = join(root, "dist");
  const site = generateSite(count);
  let totalBytes = 0;
  for (const file of site) {
    const path = join(dist, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, contentOf(file));
    totalBytes += file.size;
  }
  writeFileSync(
    join(root, "wrangler.jsonc"),
    JSON.stringify({
      name: "bench",
      compatibility_date: "2026-02-01",
      kv_namespaces: [{ binding: "ASSETS", id: "fedcba9876543210fedcba9876543210" }],
    }),
  );
  const options: SyncOptions = { dir: dist, cwd: root, precompress: false, logger: quiet };
  const changed = site.find((f) => f.path.endsWith(".html")) as GeneratedFile;
  const change = (version: number) =>
    writeFileSync(join(dist, changed.path), contentOf(changed, version));

  // Local KV: ours (cold, warm, one changed) and wrangler kv bulk put --local of the same files.
  const cold = await measured(() => syncAssets(options));
  // The same cold sync with precompression on (the default), into a namespace of its own.
  const cpuBefore = process.cpuUsage();
  const coldCompressed = await measured(() =>
    syncAssets({ ...options, precompress: true, persistTo: join(root, "state-precompressed") }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  precompressed.push([
    count.toLocaleString("en"),
    seconds(cold.ms),
    seconds(coldCompressed.ms),
    `${(coldCompressed.ms / cold.ms).toFixed(2)}×`,
    coldCompressed.ms / cold.ms <= 1.5 ? "met" : "not met",
    `${((cpu.user + cpu.system) / 1000 / coldCompressed.ms).toFixed(2)}`,
  ]);
  const warm = await measured(() => syncAssets(options));
  change(1);
  const one = await measured(() => syncAssets(options));
  const bulk = await wranglerBulkPut(root, site, dist);
  const proxyStart = await timed(async () => (await openTarget({ cwd: root })).close());
  local.push(
    [
      count.toLocaleString("en"),
      "cold",
      seconds(cold.ms),
      mib(cold.peak),
      seconds(bulk),
      ratio(bulk, cold.ms),
    ],
    [
      count.toLocaleString("en"),
      "warm (no change)",
      seconds(warm.ms),
      mib(warm.peak),
      seconds(bulk),
      ratio(bulk, warm.ms),
    ],
    [count.toLocaleString("en"), "local KV start and stop alone", seconds(proxyStart), "", "", ""],
    [
      count.toLocaleString("en"),
      "one file changed",
      seconds(one.ms),
      mib(one.peak),
      seconds(bulk),
      ratio(bulk, one.ms),
    ],
  );

  // Remote: requests and bytes against the emulated API.
  const api = await startKvApiEmulator();
  const remoteOptions: SyncOptions = {
    ...options,
    remote: true,
    remoteOptions: {
      apiToken: api.token,
      accountId: api.accountId,
      namespaceId: api.namespaceId,
      baseURL: api.baseURL,
    },
  };
  change(0);
  const remoteCold = await traffic(api, () => syncAssets(remoteOptions));
  const remoteWarm = await traffic(api, () => syncAssets(remoteOptions));
  change(2);
  const remoteOne = await traffic(api, () => syncAssets(remoteOptions));
  await api.close();

  const sitesApi = await startKvApiEmulator();
  const upload = () => workersSitesUpload(sitesApi, dist, site);
  change(0);
  const sitesCold = await traffic(sitesApi, upload);
  const sitesWarm = await traffic(sitesApi, upload);
  change(2);
  const sitesOne = await traffic(sitesApi, upload);
  await sitesApi.close();
  const c = count.toLocaleString("en");
  remote.push(
    [
      c,
      "cold",
      remoteCold.requests,
      mib(remoteCold.bytes),
      sitesCold.requests,
      mib(sitesCold.bytes),
    ],
    [
      c,
      "warm (no change)",
      remoteWarm.requests,
      mib(remoteWarm.bytes),
      sitesWarm.requests,
      mib(sitesWarm.bytes),
    ],
    [
      c,
      "one file changed",
      remoteOne.requests,
      mib(remoteOne.bytes),
      sitesOne.requests,
      mib(sitesOne.bytes),
    ],
  );

  // Hashing throughput: reading every file, against reading and hashing it.
  const paths = site.map((f) => join(dist, f.path));
  const readOnly = await timed(async () => {
    for (const path of paths) await readFile(path);
  });
  const readHash = await timed(async () => {
    for (const path of paths) await hashBytes(await readFile(path));
  });
  hashing.push([
    c,
    mib(totalBytes),
    `${(totalBytes / 2 ** 20 / (readOnly / 1000)).toFixed(0)} MiB/s`,
    `${(totalBytes / 2 ** 20 / (readHash / 1000)).toFixed(0)} MiB/s`,
    ratio(readHash, readOnly),
  ]);
}

// One large file at two sizes: what the sync holds must not grow with the file.
const largeSizes = smoke ? [8, 32] : [100, 400];
const large: (string | number)[][] = [];
const largePeaks: number[] = [];
for (const size of largeSizes) {
  const root = mkdtempSync(join(tmpdir(), `kv-assets-bench-sync-large-${size}-`));
  mkdirSync(join(root, "dist"));
  writeFileSync(
    join(root, "wrangler.jsonc"),
    JSON.stringify({
      name: "bench",
      compatibility_date: "2026-02-01",
      kv_namespaces: [{ binding: "ASSETS", id: "large" }],
    }),
  );
  // Bytes that differ from part to part, written without holding the file in memory.
  const file = join(root, "dist", "video.bin");
  const block = Buffer.alloc(2 ** 20);
  const fd = openSync(file, "w");
  for (let i = 0; i < size; i++) writeSync(fd, block.fill(i % 251));
  closeSync(fd);
  const run = await measured(() =>
    syncAssets({ dir: join(root, "dist"), cwd: root, logger: quiet }),
  );
  largePeaks.push(run.peak);
  large.push([`${size} MiB`, seconds(run.ms), mib(run.peak), ratio(run.peak, size * 2 ** 20)]);
  rmSync(root, { recursive: true, force: true });
}

// Brotli quality against size and time, over real text: what the default quality is chosen from.
// Measured after the large files, whose memory figures its buffers would disturb.
const qualities = brotliQualities();
const encodings = await encodingSizes();

console.log(
  `sync benchmark on ${machine()}${smoke ? " (smoke run)" : ""}; precompression off in every run but the precompressed cold one\n`,
);
console.log("local KV (wrangler's local state):\n");
console.log(
  table(
    [
      "files",
      "sync",
      "kv-assets s",
      "peak memory growth",
      "wrangler kv bulk put --local s",
      "speed-up",
    ],
    local,
  ),
);
console.log("\nremote KV API (emulated), requests and request bytes:\n");
console.log(
  table(
    [
      "files",
      "sync",
      "kv-assets requests",
      "kv-assets bytes",
      "Workers Sites requests",
      "Workers Sites bytes",
    ],
    remote,
  ),
);
console.log(
  "\ncold sync to local KV with precompression on (br and gzip, the default) against off; CPU / wall is the cores the run kept busy (zlib compresses on libuv's thread pool):\n",
);
console.log(
  table(
    ["files", "cold, off s", "cold, on s", "on / off", "target ≤ 1.5×", "CPU / wall"],
    precompressed,
  ),
);
console.log(
  `\nbrotli quality against size and time, over ${qualities.files} real text files (${mib(qualities.bytes)}: the JavaScript, CSS and HTML of Vite, Hono and the playground), one thread; size is of all files compressed, against quality 11:\n`,
);
console.log(table(["quality", "compressed", "against q11", "MiB/s"], qualities.rows));
console.log(
  `\nzstd against br and gzip over the same files, one thread (zstd through the wasm encoder the sync uses on Node 20; the sync makes zstd at level ${ZSTD_LEVEL}):\n`,
);
console.log(table(["encoding", "compressed", "against br q11", "MiB/s"], encodings));
console.log("\nhashing (xxh64, xxhash-wasm) over the site's files:\n");
console.log(table(["files", "site size", "read only", "read + xxh64", "cost of hashing"], hashing));
console.log("\none large file to local KV (stored in 25 MiB parts):\n");
console.log(table(["file size", "sync s", "peak memory growth", "growth / file size"], large));
console.log(
  `\npeak growth at ${largeSizes[1]} MiB against ${largeSizes[0]} MiB: ${largePeaks[0]! > 0 ? ratio(largePeaks[1]!, largePeaks[0]!) : `${mib(largePeaks[1]!)} against none`} (1× means it does not grow with the file)`,
);

/** Real text: the JavaScript, CSS and HTML of Vite, Hono and the playground. */
function textCorpus(): Buffer[] {
  const roots = ["node_modules/vite/dist", "node_modules/hono/dist", "playground/dist/client"];
  return roots
    .flatMap((root) => textFiles(join(import.meta.dirname, "..", root)))
    .slice(0, smoke ? 20 : 600)
    .map((path) => readFileSync(path));
}

function brotliQualities(): { files: number; bytes: number; rows: (string | number)[][] } {
  const corpus = textCorpus();
  const bytes = corpus.reduce((n, b) => n + b.byteLength, 0);
  const levels = smoke ? [5, 11] : [4, 5, 6, 7, 8, 9, 10, 11];
  const measuredLevels = levels.map((quality) => {
    const started = performance.now();
    let size = 0;
    for (const file of corpus) {
      size += brotliCompressSync(file, {
        params: {
          [zlibConstants.BROTLI_PARAM_QUALITY]: quality,
          [zlibConstants.BROTLI_PARAM_SIZE_HINT]: file.byteLength,
        },
      }).byteLength;
    }
    return { quality, size, ms: performance.now() - started };
  });
  const best = measuredLevels.find((l) => l.quality === 11)!.size;
  return {
    files: corpus.length,
    bytes,
    rows: measuredLevels.map((l) => [
      l.quality,
      `${((l.size / bytes) * 100).toFixed(1)}%`,
      `${((l.size / best - 1) * 100).toFixed(1)}% larger`,
      (bytes / 2 ** 20 / (l.ms / 1000)).toFixed(1),
    ]),
  };
}

async function encodingSizes(): Promise<(string | number)[][]> {
  const corpus = textCorpus();
  const bytes = corpus.reduce((n, b) => n + b.byteLength, 0);
  const encoder = await Zstd.load();
  const brotli = (quality: number) => (file: Buffer) =>
    brotliCompressSync(file, {
      params: {
        [zlibConstants.BROTLI_PARAM_QUALITY]: quality,
        [zlibConstants.BROTLI_PARAM_SIZE_HINT]: file.byteLength,
      },
    }).byteLength;
  const zstd = (level: number) => (file: Buffer) => encoder.compress(file, level).byteLength;
  const ways: [string, (file: Buffer) => number][] = [
    ["br q11 (the default)", brotli(11)],
    ["br q5", brotli(5)],
    ["zstd 3", zstd(3)],
    ["zstd 12", zstd(12)],
    [`zstd ${ZSTD_LEVEL} (the sync's)`, zstd(ZSTD_LEVEL)],
    ["zstd 22", zstd(22)],
    ["gzip 9", (file) => gzipSync(file, { level: 9 }).byteLength],
  ];
  const measured = ways.map(([name, compress]) => {
    const started = performance.now();
    let size = 0;
    for (const file of corpus) size += compress(file);
    return { name, size, ms: performance.now() - started };
  });
  const best = measured[0]!.size;
  return measured.map((m) => [
    m.name,
    `${((m.size / bytes) * 100).toFixed(1)}%`,
    `${((m.size / best - 1) * 100).toFixed(1)}% larger`,
    (bytes / 2 ** 20 / (m.ms / 1000)).toFixed(1),
  ]);
}

function textFiles(folder: string): string[] {
  let entries;
  try {
    entries = readdirSync(folder, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return textFiles(path);
    return /\.(m?js|css|html)$/.test(entry.name) ? [path] : [];
  });
}

async function warmUp(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "kv-assets-bench-sync-warm-"));
  writeFileSync(
    join(root, "wrangler.jsonc"),
    JSON.stringify({
      name: "warm",
      compatibility_date: "2026-02-01",
      kv_namespaces: [{ binding: "ASSETS", id: "warm" }],
    }),
  );
  await syncAssets({ files: { "/a.txt": "a" }, cwd: root, logger: quiet });
}

/**
 * Runs `run`, sampling the memory JavaScript holds (heap and buffers), and reports its time and
 * peak growth. Resident memory is not used: it also counts what the site generator left behind.
 */
async function measured(run: () => Promise<unknown>): Promise<{ ms: number; peak: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const held = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const base = held();
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, held())), 10);
  const started = performance.now();
  await run();
  const ms = performance.now() - started;
  clearInterval(sampler);
  peak = Math.max(peak, held());
  return { ms, peak: peak - base };
}

/** Requests and request bytes the emulated API received while `run` ran. */
async function traffic(
  api: Awaited<ReturnType<typeof startKvApiEmulator>>,
  run: () => Promise<unknown>,
): Promise<{ requests: number; bytes: number }> {
  const before = api.requests.length;
  await run();
  const requests = api.requests.slice(before);
  return { requests: requests.length, bytes: requests.reduce((n, r) => n + r.bytes, 0) };
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/**
 * `wrangler kv bulk put --local` of every file under content-addressed keys, timed. The files go in
 * bulk files of at most 5,000 pairs (a bigger JSON file can exceed what wrangler can read at once),
 * one wrangler run each, as a user would have to.
 */
async function wranglerBulkPut(root: string, site: GeneratedFile[], dist: string): Promise<number> {
  const files: string[] = [];
  for (let start = 0; start < site.length; start += 5000) {
    const entries = await Promise.all(
      site.slice(start, start + 5000).map(async (file) => {
        const bytes = readFileSync(join(dist, file.path));
        return {
          key: `bulk/${await hashBytes(bytes)}`,
          value: bytes.toString("base64"),
          base64: true,
        };
      }),
    );
    const json = join(root, `bulk-${start}.json`);
    writeFileSync(json, JSON.stringify(entries));
    files.push(json);
  }
  return timed(async () => {
    for (const json of files) {
      execFileSync(
        process.execPath,
        [
          wranglerBin,
          "kv",
          "bulk",
          "put",
          json,
          "--binding",
          "ASSETS",
          "--local",
          "--persist-to",
          join(root, "wrangler-state"),
        ],
        {
          cwd: root,
          stdio: "pipe",
          env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_HIDE_BANNER: "true" },
        },
      );
    }
  });
}

/** The Workers Sites upload: list every key, then write what is missing, 1,000 pairs per request. */
async function workersSitesUpload(
  api: Awaited<ReturnType<typeof startKvApiEmulator>>,
  dist: string,
  site: GeneratedFile[],
): Promise<void> {
  const client = new Cloudflare({ apiToken: api.token, baseURL: api.baseURL, maxRetries: 0 });
  const existing = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await client.kv.namespaces.keys.list(api.namespaceId, {
      account_id: api.accountId,
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    for (const key of page.result) existing.add(key.name);
    cursor =
      (page as unknown as { result_info?: { cursor?: string } }).result_info?.cursor || undefined;
  } while (cursor);
  const missing: { key: string; value: string; base64: boolean }[] = [];
  for (const file of site) {
    const bytes = readFileSync(join(dist, file.path));
    const key = `${file.path.slice(1)}.${(await hashBytes(bytes)).slice(0, 10)}`;
    if (!existing.has(key)) missing.push({ key, value: bytes.toString("base64"), base64: true });
  }
  for (let i = 0; i < missing.length; i += 1000) {
    await client.kv.namespaces.bulkUpdate(api.namespaceId, {
      account_id: api.accountId,
      body: missing.slice(i, i + 1000),
    });
  }
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
