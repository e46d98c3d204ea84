// npm run bench:runtime — the same files in the same local KV, served in one workerd by kv-assets
// (with and without edgeCache), @cloudflare/kv-asset-handler, Hono's serveStatic, and a bare KV.get
// floor (twice, as a control), each loaded in turn by the same load generator on loopback with the
// same concurrency and duration.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { packManifest } from "@kv-assets/runtime/format";
import type { AssetManifest } from "@kv-assets/runtime";
import { hashBytes } from "@kv-assets/runtime/publish";
import { syncAssets, type KvTarget } from "@kv-assets/sync";
import {
  cpuNanos,
  generateSite,
  contentOf,
  load,
  loadMix,
  machine,
  median,
  residentBytes,
  smoke,
  table,
  workerdBelow,
  type LoadResult,
} from "./lib.js";

const CONNECTIONS = 8;
const SECONDS = smoke ? 0.3 : 1.5;
/** `--cost-only`: only the in-isolate cost of each Worker, for quick work on the handler. */
const costOnly = process.argv.includes("--cost-only");
/** `--rounds N` and `--row NAME` (repeatable): more rounds of fewer rows, to settle one comparison. */
const ROUNDS = smoke ? 1 : costOnly ? 0 : Number(option("--rounds") ?? 9);
if (!Number.isInteger(ROUNDS) || ROUNDS < 0) {
  throw new Error(`--rounds takes a whole number of rounds, such as 25; got ${option("--rounds")}`);
}
const onlyRows = process.argv.flatMap((arg, i) =>
  arg === "--row" ? [process.argv[i + 1] ?? ""] : [],
);
/** Rounds of the in-isolate cost measurement, and calls per round (fewer for the 1 MiB file). */
const COST_ROUNDS = smoke ? 1 : 7;
const COST_CALLS = smoke ? 20 : 5000;
const IDENTITY = { "Accept-Encoding": "identity" };
/** Files of the mix's site, and the shares of its requests that revalidate and that miss. */
const MIX_FILES = smoke ? 40 : 300;
const MIX_REVALIDATE = 0.1;
const MIX_MISS = 0.05;
// "floor again" is the floor a second time: how far apart two identical Workers measure is the
// resolution of the run.
const WORKERS = [
  "kv-assets",
  "kv-assets no memory",
  "kv-assets+cache",
  "kv-asset-handler",
  "hono",
  "floor",
  "floor again",
] as const;
type WorkerName = (typeof WORKERS)[number];
const ENTRY: Record<WorkerName, string> = {
  "kv-assets": "ours.ts",
  "kv-assets no memory": "ours-no-memory.ts",
  "kv-assets+cache": "ours-cache.ts",
  "kv-asset-handler": "kv-asset-handler.ts",
  hono: "hono.ts",
  floor: "floor.ts",
  "floor again": "floor.ts",
};
/** A Worker's name inside Miniflare. */
const serviceOf = (worker: WorkerName): string => worker.replace(/[^a-z-]/g, "-");

const dir = mkdtempSync(join(tmpdir(), "kv-assets-bench-runtime-"));
const files = siteFiles();
const kvPersist = join(dir, "kv");

// Load every file once into the two layouts: content-addressed (kv-assets and the floor) and
// Workers Sites keys with the hash in the name (kv-asset-handler and Hono).
const seeding = new Miniflare({
  modules: true,
  script: "export default { fetch() { return new Response(null) } }",
  kvNamespaces: { ASSETS: "assets", STATIC: "static" },
  kvPersist,
});
const assets = await seeding.getKVNamespace("ASSETS");
const staticKv = await seeding.getKVNamespace("STATIC");
const { manifest } = await syncAssets({
  files,
  target: miniflareTarget(assets),
  logger: { info() {}, warn() {} },
});
const siteManifest: Record<string, string> = {};
for (const [path, bytes] of Object.entries(files)) {
  const name = path.slice(1);
  const dot = name.lastIndexOf(".");
  const hash = (await hashBytes(bytes)).slice(0, 10);
  const key = dot > 0 ? `${name.slice(0, dot)}.${hash}${name.slice(dot)}` : `${name}.${hash}`;
  siteManifest[name] = key;
  await staticKv.put(key, new Uint8Array(bytes).buffer);
}
const packed = packManifest(manifest);
const keys = Object.fromEntries(
  Object.entries(manifest.files).map(([path, [hash]]) => [path, manifest.prefix + hash]),
);
await seeding.dispose();

const SMALL = "/assets/small.css";
const LARGE = "/media/one-mib.bin";
interface Row {
  name: string;
  path: string;
  method?: string;
  headers?: (etag: string | null) => Record<string, string> | null;
  expect: number;
}
const allRows: Row[] = [
  { name: "small file 200", path: SMALL, expect: 200 },
  { name: "1 MiB file 200", path: LARGE, expect: 200 },
  {
    name: "304 revalidation",
    path: SMALL,
    headers: (etag) => (etag ? { "If-None-Match": etag } : null),
    expect: 304,
  },
  { name: "HEAD", path: SMALL, method: "HEAD", expect: 200 },
  { name: "range", path: LARGE, headers: () => ({ Range: "bytes=1000-1999" }), expect: 206 },
  { name: "miss", path: "/no-such-file.html", expect: 404 },
];
const rows = allRows.filter((row) => onlyRows.length === 0 || onlyRows.includes(row.name));
const unknownRow = onlyRows.find(
  (name) => name !== "mix" && !allRows.some((row) => row.name === name),
);
if (unknownRow !== undefined) {
  const names = [...allRows.map((row) => `"${row.name}"`), '"mix"'].join(", ");
  throw new Error(`--row "${unknownRow}" is not a row; the rows are ${names}`);
}

type Result = {
  status: number;
  rps: number;
  cpu?: number;
  p50: number;
  p99: number;
  reads: number;
  errors: number;
  length: string;
};
const results = new Map<string, Result | string>();
/** Every round of each Worker and row, for paired ratios. */
const rounds = new Map<string, LoadResult[]>();
/** Microseconds of the Worker's own work per request, in the isolate. */
const costs = new Map<string, number>();

// Every Worker runs in one workerd (one Miniflare), each on its own socket straight to the Worker,
// so no Worker gets a process, a KV service or a router of its own that the others lack. Rows are
// measured in rounds that take the Workers in turn, and the median round is reported, so a noisy
// moment does not favour one of them.
/** The bundled script of an entry, built once even when two Workers (the floor twice) run it. */
const bundleOf = (entry: string): string => join(dir, entry.replace(/\.ts$/, ".js"));
for (const entry of new Set(Object.values(ENTRY))) {
  await build({
    // Each Worker as it is, plus GET /__cost (workers/cost.ts) for the in-isolate measurement.
    stdin: {
      contents: `import worker from "./${entry}";\nimport { withCost } from "./cost.ts";\nexport default withCost(worker);\n`,
      resolveDir: join(import.meta.dirname, "workers"),
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    outfile: bundleOf(entry),
    logLevel: "error",
  });
}
const mf = new Miniflare({
  kvPersist,
  port: 0,
  workers: WORKERS.map((worker) => ({
    name: serviceOf(worker),
    modules: true,
    modulesRoot: dir,
    scriptPath: bundleOf(ENTRY[worker]),
    compatibilityDate: "2026-02-01",
    kvNamespaces: { ASSETS: "assets", STATIC: "static" },
    // kv-assets gets the packed form, as the Vite plugin compiles it in.
    bindings: { MANIFEST: packed as never, SITE_MANIFEST: siteManifest, KEYS: keys },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  })),
});
await mf.ready;
const pid = workerdBelow(process.pid, true)[0] ?? null;
const rssStart = residentBytes(pid);
const servers = new Map<WorkerName, { url: URL; etag: string | null }>();
for (const worker of WORKERS) {
  const url = await mf.unsafeGetDirectURL(serviceOf(worker));
  // The load generator sends no Accept-Encoding, so neither do the probes: same representation.
  const first = await fetch(new URL(SMALL, url), { headers: IDENTITY, redirect: "manual" });
  await first.arrayBuffer();
  servers.set(worker, { url, etag: first.headers.get("ETag") });
}

for (const row of rows) {
  const runs = new Map<WorkerName, LoadResult[]>();
  for (const worker of WORKERS) {
    const { url, etag } = servers.get(worker)!;
    const headers = row.headers ? row.headers(etag) : {};
    if (headers === null) {
      results.set(`${worker}|${row.name}`, "no ETag");
      continue;
    }
    const init = {
      method: row.method ?? "GET",
      headers: { ...IDENTITY, ...headers },
      redirect: "manual",
    } as const;
    // The first request warms up what the Worker keeps (kv-asset-handler answers a range from
    // its cache only once a 200 has filled it); the second shows the state the load measures.
    await (await fetch(new URL(row.path, url), init)).arrayBuffer();
    await fetch(new URL("/__reads", url)).then((r) => r.text());
    const probe = await fetch(new URL(row.path, url), init);
    await probe.arrayBuffer();
    const reads = await countsOf(url).then((c) => c.reads);
    if (probe.status !== row.expect) {
      results.set(`${worker}|${row.name}`, `answers ${probe.status}`);
      continue;
    }
    const length =
      probe.status === 304 || probe.status === 404
        ? ""
        : probe.headers.has("Content-Length")
          ? "yes"
          : "no";
    results.set(`${worker}|${row.name}`, {
      status: probe.status,
      reads,
      length,
      rps: 0,
      p50: 0,
      p99: 0,
      errors: 0,
    });
    runs.set(worker, []);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [worker, list] of runs) {
      const { url, etag } = servers.get(worker)!;
      list.push(
        await load(new URL(row.path, url).href, {
          expect: row.expect,
          method: row.method,
          headers: row.headers ? (row.headers(etag) ?? {}) : {},
          connections: CONNECTIONS,
          seconds: SECONDS,
          pid,
        }),
      );
    }
  }
  for (const [worker, list] of runs) {
    const sorted = [...list].sort((a, b) => a.rps - b.rps);
    const mid = sorted[Math.floor(sorted.length / 2)] as LoadResult;
    const entry = results.get(`${worker}|${row.name}`) as Result;
    const cpus = list.flatMap((r) => (r.cpu === undefined ? [] : [r.cpu]));
    Object.assign(entry, mid, {
      errors: list.reduce((n, r) => n + r.errors, 0),
      cpu: cpus.length > 0 ? median(cpus) : undefined,
    });
    rounds.set(`${worker}|${row.name}`, list);
  }
  // The Workers' own work, without HTTP or storage: calls in the isolate, KV reads from memory.
  const calls = row.path === LARGE ? COST_CALLS / 10 : COST_CALLS;
  const perRound = new Map<WorkerName, number[]>();
  for (let round = -1; round < COST_ROUNDS; round++) {
    for (const worker of runs.keys()) {
      const { url, etag } = servers.get(worker)!;
      const init = {
        method: row.method ?? "GET",
        headers: { ...IDENTITY, ...(row.headers ? (row.headers(etag) ?? {}) : {}) },
        redirect: "manual" as const,
      };
      const micros = await costOf(url, row.path, init, calls);
      if (round >= 0) perRound.set(worker, [...(perRound.get(worker) ?? []), micros]);
    }
  }
  for (const [worker, list] of perRound) costs.set(`${worker}|${row.name}`, Math.min(...list));
}
// The mix: a few hundred files requested by Zipf-like popularity, some revalidations and misses.
const mixResults = new Map<WorkerName, MixResult>();
if (!onlyRows.length || onlyRows.includes("mix")) {
  const requests = new Map<WorkerName, Parameters<typeof loadMix>[1]>();
  for (const worker of WORKERS) requests.set(worker, await mixFor(servers.get(worker)!.url));
  const perWorker = new Map<WorkerName, MixResult[]>();
  for (let round = 0; round < Math.max(ROUNDS, 1); round++) {
    for (const worker of WORKERS) {
      const { url } = servers.get(worker)!;
      const list = requests.get(worker)!;
      if (round === 0)
        await loadMix(url.origin, list, { connections: CONNECTIONS, seconds: SECONDS / 2 });
      await countsOf(url);
      const before = cpuNanos(pid);
      const result = await loadMix(url.origin, list, {
        connections: CONNECTIONS,
        seconds: SECONDS,
      });
      const after = cpuNanos(pid);
      const counts = await countsOf(url);
      const entry: MixResult = {
        ...result,
        cpu:
          before === null || after === null ? undefined : (after - before) / 1000 / result.requests,
        readsPer1000: (counts.reads / result.requests) * 1000,
        cachePer1000: (counts.cacheOperations / result.requests) * 1000,
      };
      perWorker.set(worker, [...(perWorker.get(worker) ?? []), entry]);
    }
  }
  for (const [worker, list] of perWorker) {
    const sorted = [...list].sort((a, b) => a.rps - b.rps);
    const mid = sorted[Math.floor(sorted.length / 2)]!;
    mixResults.set(worker, {
      ...mid,
      errors: list.reduce((n, r) => n + r.errors, 0),
      cpu: median(list.flatMap((r) => (r.cpu === undefined ? [] : [r.cpu]))),
      readsPer1000: median(list.map((r) => r.readsPer1000)),
      cachePer1000: median(list.map((r) => r.cachePer1000)),
    });
    rounds.set(`${worker}|mix`, list);
  }
}
const rssEnd = residentBytes(pid);
await mf.dispose();

console.log(`runtime benchmark on ${machine()}${smoke ? " (smoke run)" : ""}`);
if (ROUNDS > 0) {
  console.log(
    `${CONNECTIONS} keep-alive connections; per row, ${ROUNDS} rounds of ${SECONDS} s (after a warm-up) taking the Workers in turn, median round shown; all Workers in one workerd (Miniflare), each on its own loopback socket\n`,
  );
  console.log(
    table(
      [
        "request",
        "worker",
        "status",
        "req/s",
        "workerd CPU µs/req",
        "p50 ms",
        "p99 ms",
        "KV reads/req",
        "Content-Length",
        "errors",
      ],
      rows.flatMap((row) =>
        WORKERS.map((worker) => {
          const r = results.get(`${worker}|${row.name}`);
          return typeof r === "string" || r === undefined
            ? [row.name, worker, r ?? "-", "-", "-", "-", "-", "-", "-", "-"]
            : [
                row.name,
                worker,
                r.status,
                Math.round(r.rps),
                r.cpu === undefined ? "n/a" : Math.round(r.cpu),
                r.p50.toFixed(1),
                r.p99.toFixed(1),
                r.reads,
                r.length,
                r.errors,
              ];
        }),
      ),
    ),
  );

  const mib = (n: number | null): string =>
    n === null ? "n/a" : `${(n / 2 ** 20).toFixed(1)} MiB`;
  console.log(
    `\nworkerd resident memory: ${mib(rssStart)} at the start, ${mib(rssEnd)} after all rows (see bench:memory)`,
  );
}

console.log(
  `\neach Worker's own work per request, in µs: the Worker called ${COST_CALLS} times (${COST_CALLS / 10} for the 1 MiB file) inside its isolate with its KV reads served from memory and the body read, no HTTP; the least of ${COST_ROUNDS} rounds taking the Workers in turn (noise only ever adds time). The floor's figure is what any Worker pays for the call, its Request and Response and reading the body.\n`,
);
console.log(
  table(
    ["request", ...WORKERS],
    rows.map((row) => [
      row.name,
      ...WORKERS.map((worker) => {
        const micros = costs.get(`${worker}|${row.name}`);
        return micros === undefined ? "-" : micros.toFixed(1);
      }),
    ]),
  ),
);

// A ratio of req/s for each round, both Workers measured back to back, so a slow moment of the
// machine weighs on both sides; the spread of those ratios is the run's noise.
const paired = (a: WorkerName, rowA: string, b: WorkerName, rowB: string): number[] => {
  const listA = rounds.get(`${a}|${rowA}`) ?? [];
  const listB = rounds.get(`${b}|${rowB}`) ?? [];
  return listA.map((r, i) => r.rps / (listB[i]?.rps ?? NaN)).filter(Number.isFinite);
};
// The cells of one comparison: median, middle half and verdict against the least ratio wanted
// (none for the control, two identical Workers, whose spread is the run's noise).
const summary = (ratios: number[], least: number | null): string[] => {
  const sorted = [...ratios].sort((x, y) => x - y);
  const at = (q: number): number => sorted[Math.round(q * (sorted.length - 1))] ?? NaN;
  const [low, high] = [at(0.25), at(0.75)];
  const cells = [`${median(sorted).toFixed(2)}×`, `${low.toFixed(2)}–${high.toFixed(2)}`];
  if (least === null) return [...cells, "1×", "control: the run's noise"];
  const verdict = low >= least ? "met" : high < least ? "not met" : "within noise";
  return [...cells, `≥ ${least === 1 ? "1" : least.toFixed(2)}×`, verdict];
};
if (ROUNDS > 0) {
  console.log(
    "\nratios of req/s, per round (both measured back to back), median and middle half of the rounds:\n",
  );
  console.log(
    table(
      ["comparison", "median", "middle half", "target", "verdict"],
      [
        ...(
          [
            ["floor again", "small file 200", "floor", "small file 200", null],
            ["floor again", "1 MiB file 200", "floor", "1 MiB file 200", null],
            ["kv-assets", "small file 200", "floor", "small file 200", 3],
            ["kv-assets", "1 MiB file 200", "floor", "1 MiB file 200", 1],
            ["kv-assets no memory", "small file 200", "floor", "small file 200", 0.9],
            ["kv-assets", "mix", "floor", "mix", 1],
            ["kv-assets", "mix", "kv-assets no memory", "mix", 1],
            ["kv-assets", "mix", "kv-asset-handler", "mix", 1],
            ["kv-assets", "mix", "hono", "mix", 1],
            // Against a 200 read from KV: neither reads a body.
            ["kv-assets", "304 revalidation", "kv-assets no memory", "small file 200", 2],
            ["kv-assets", "HEAD", "kv-assets no memory", "small file 200", 2],
          ] as const
        ).flatMap(([a, rowA, b, rowB, least]) => {
          const ratios = paired(a, rowA, b, rowB);
          if (ratios.length === 0) return []; // a row left out with --row
          return [[`${a} ${rowA} / ${b} ${rowB}`, ...summary(ratios, least)]];
        }),
        ...rows.flatMap((row) =>
          (
            [
              ["kv-assets", "hono"],
              ["kv-assets", "kv-asset-handler"],
              ["kv-assets+cache", "kv-asset-handler"],
            ] as const
          ).map(([ours, other]) => {
            const theirs = results.get(`${other}|${row.name}`);
            if (typeof theirs !== "object") {
              return [`${ours} / ${other}, ${row.name}`, `${other}: ${String(theirs)}`, "", "", ""];
            }
            return [
              `${ours} / ${other}, ${row.name}`,
              ...summary(paired(ours, row.name, other, row.name), 1),
            ];
          }),
        ),
      ],
    ),
  );
}

if (mixResults.size > 0) {
  console.log(
    `\nthe mix: ${MIX_FILES} generated files (pages, scripts, styles, images, data) requested by Zipf-like popularity (s = 1), ${MIX_REVALIDATE * 100}% of them revalidations with the ETag the Worker gave (a 304; Hono sends no ETag, so its are 200s), ${MIX_MISS * 100}% misses; ${ROUNDS} rounds, median round:\n`,
  );
  console.log(
    table(
      [
        "worker",
        "req/s",
        "p50 ms",
        "p99 ms",
        "KV reads / 1,000",
        "Cache API calls / 1,000",
        "workerd CPU µs/req",
        "errors",
      ],
      WORKERS.map((worker) => {
        const r = mixResults.get(worker)!;
        return [
          worker,
          Math.round(r.rps),
          r.p50.toFixed(1),
          r.p99.toFixed(1),
          Math.round(r.readsPer1000),
          Math.round(r.cachePer1000),
          r.cpu === undefined ? "n/a" : Math.round(r.cpu),
          r.errors,
        ];
      }),
    ),
  );
  // Cloudflare's published prices (Workers Paid), beyond what the plan includes: $0.30 per
  // million requests, $0.02 per million CPU milliseconds, $0.50 per million KV reads; Cache API
  // calls are free, and so are static asset requests of Workers Static Assets.
  console.log(
    "\nwhat a million requests of the mix cost beyond the plan's included amounts, at Cloudflare's published prices (Workers requests $0.30/M, CPU $0.02/M ms, KV reads $0.50/M; Cache API calls free); workerd's CPU here includes the local KV it serves, so the CPU figure is an upper bound:\n",
  );
  const dollars = (n: number): string => `$${n.toFixed(3)}`;
  console.log(
    table(
      ["worker", "requests", "CPU", "KV reads", "total per million"],
      [
        ...WORKERS.map((worker) => {
          const r = mixResults.get(worker)!;
          const requests = 0.3;
          const cpu = ((r.cpu ?? 0) / 1000) * 0.02;
          const kv = (r.readsPer1000 / 1000) * 0.5;
          return [
            worker,
            dollars(requests),
            dollars(cpu),
            dollars(kv),
            dollars(requests + cpu + kv),
          ];
        }),
        ["Workers Static Assets (static requests)", dollars(0), dollars(0), dollars(0), dollars(0)],
      ],
    ),
  );
  const ours = mixResults.get("kv-assets")!;
  const floor = mixResults.get("floor")!;
  const share = ours.readsPer1000 / Math.max(floor.readsPer1000, 1e-9);
  console.log(
    `\nKV reads of the mix, kv-assets / floor: ${share.toFixed(3)} (target: at most 0.1; ${share <= 0.1 ? "met" : "not met"})`,
  );
}

/** What one Worker did in a round of the mix. */
interface MixResult extends LoadResult {
  readsPer1000: number;
  cachePer1000: number;
}

/** KV reads and Cache API calls of a Worker since the last ask. */
async function countsOf(url: URL): Promise<{ reads: number; cacheOperations: number }> {
  const text = await fetch(new URL("/__reads", url)).then((r) => r.text());
  const [reads = 0, cacheOperations = 0] = text.split(" ").map(Number);
  return { reads, cacheOperations };
}

/**
 * The requests of the mix for one Worker, in a fixed order drawn once: files by Zipf-like
 * popularity, revalidations with the ETag this Worker gives the file, and misses.
 */
async function mixFor(url: URL): Promise<Parameters<typeof loadMix>[1]> {
  // Each file at the URL this Worker serves it at (kv-assets serves `/a.html` at `/a`).
  const paths: string[] = [];
  const etags = new Map<string, string | null>();
  for (const file of Object.keys(files).filter((p) => p.startsWith("/mix/"))) {
    let path = file;
    let response = await fetch(new URL(path, url), { headers: IDENTITY, redirect: "manual" });
    const location = response.headers.get("Location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.arrayBuffer();
      path = new URL(location, url).pathname;
      response = await fetch(new URL(path, url), { headers: IDENTITY, redirect: "manual" });
    }
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`the mix's ${file} answered ${response.status}`);
    paths.push(path);
    etags.set(path, response.headers.get("ETag"));
  }
  let seed = 7;
  const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  // Popularity of the rank-r file is proportional to 1/r.
  const weights = paths.map((_, rank) => 1 / (rank + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const pick = (): string => {
    let left = random() * total;
    for (const [i, weight] of weights.entries()) if ((left -= weight) < 0) return paths[i]!;
    return paths[paths.length - 1]!;
  };
  return Array.from({ length: 4000 }, (_, i) => {
    const draw = random();
    if (draw < MIX_MISS) return { path: `/mix/missing-${i}.html`, headers: IDENTITY, expect: 404 };
    const path = pick();
    const etag = etags.get(path);
    if (draw < MIX_MISS + MIX_REVALIDATE && etag)
      return { path, headers: { ...IDENTITY, "If-None-Match": etag }, expect: 304 };
    return { path, headers: IDENTITY, expect: 200 };
  });
}

/**
 * Microseconds per call of the Worker's own work: the time of GET /__cost with `calls` calls less
 * the time of one with none (which costs the HTTP round trip only).
 */
async function costOf(url: URL, path: string, init: RequestInit, calls: number): Promise<number> {
  const timed = async (n: number): Promise<number> => {
    const query = new URLSearchParams({ n: String(n), path, init: JSON.stringify(init) });
    const started = performance.now();
    const response = await fetch(new URL(`/__cost?${query}`, url));
    const text = await response.text();
    if (!response.ok) throw new Error(`/__cost answered ${response.status}: ${text}`);
    return performance.now() - started;
  };
  const empty = median([await timed(0), await timed(0), await timed(0)]);
  return ((await timed(calls)) - empty) * (1000 / calls);
}

/** The value after `name` on the command line. */
function option(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
}

/** The generated set (small, medium, large), the mix's site, and the playground's built files when present. */
function siteFiles(): Record<string, Uint8Array> {
  const text = (size: number, seed: string): Uint8Array =>
    new TextEncoder().encode(seed.repeat(Math.ceil(size / seed.length)).slice(0, size));
  const out: Record<string, Uint8Array> = {
    "/index.html": text(2 * 1024, "<p>kv-assets benchmark page</p>\n"),
    "/assets/small.css": text(2 * 1024, "body { color: rebeccapurple; }\n"),
    "/assets/app-medium.js": text(100 * 1024, "export const value = Math.random();\n"),
    "/media/one-mib.bin": new Uint8Array(1024 * 1024).map((_, i) => (i * 31) % 251),
  };
  // Popularity ranks are the order of the generated files, which mixes kinds and sizes.
  for (const file of generateSite(MIX_FILES)) out[`/mix${file.path}`] = contentOf(file);
  const playground = join(import.meta.dirname, "..", "playground", "dist", "client");
  if (existsSync(playground)) {
    for (const file of walk(playground)) {
      if (statSync(file).size > 1024 * 1024) continue;
      out[`/${relative(playground, file).split("\\").join("/")}`] ??= readFileSync(file);
    }
  }
  return out;
}

function walk(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(folder, entry.name)) : [join(folder, entry.name)],
  );
}

/** The sync engine's target over a Miniflare KV namespace. */
function miniflareTarget(kv: Awaited<ReturnType<Miniflare["getKVNamespace"]>>): KvTarget {
  return {
    remote: false,
    description: "Miniflare KV",
    async list(prefix) {
      const out = [];
      let cursor: string | undefined;
      do {
        const page = await kv.list({ prefix, cursor });
        out.push(...page.keys.map((k) => ({ name: k.name, metadata: k.metadata })));
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      return out;
    },
    getText: (key) => kv.get(key, "text"),
    async putMany(entries) {
      for (const entry of entries) {
        const value =
          typeof entry.value === "string" ? entry.value : new Uint8Array(entry.value).buffer;
        await kv.put(entry.key, value, { metadata: entry.metadata });
      }
    },
    async deleteMany(names) {
      for (const name of names) await kv.delete(name);
    },
    async close() {},
  };
}

export type { AssetManifest };
