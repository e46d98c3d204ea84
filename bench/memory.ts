// npm run bench:memory — resident memory of workerd while it serves the same file for a minute,
// once through kv-assets and once through a bare KV.get, each in a fresh workerd, side by side.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { loadMix, machine, residentBytes, smoke, table, workerdBelow } from "./lib.js";

const STEPS = smoke ? 1 : 6;
const STEP_SECONDS = smoke ? 0.5 : 10;
const RATE = 300;
const dir = mkdtempSync(join(tmpdir(), "kv-assets-bench-memory-"));
await build({
  entryPoints: [join(import.meta.dirname, "workers", "memory.ts")],
  bundle: true,
  format: "esm",
  platform: "neutral",
  outfile: join(dir, "memory.js"),
  logLevel: "error",
});

const rows: (string | number)[][] = [];
for (const mode of ["floor", "kv-assets"]) {
  const known = workerdBelow(process.pid, true);
  const mf = new Miniflare({
    modules: true,
    modulesRoot: dir,
    scriptPath: join(dir, "memory.js"),
    compatibilityDate: "2026-02-01",
    kvNamespaces: ["KV"],
    port: 0,
  });
  const url = await mf.ready;
  await (await fetch(new URL("/put", url))).text();
  const pid = workerdBelow(process.pid, true).find((p) => !known.includes(p)) as number;
  const rss = (id: number): number => (residentBytes(id) ?? 0) / 2 ** 20;
  const samples = [rss(pid)];
  let requests = 0;
  for (let step = 0; step < STEPS; step++) {
    const run = await loadMix(url.origin, [{ path: `/small.css?mode=${mode}` }], {
      connections: 4,
      seconds: STEP_SECONDS,
      rate: RATE,
    });
    requests += run.requests;
    samples.push(rss(pid));
  }
  rows.push([mode, requests, ...samples.map((s) => s.toFixed(0))]);
  await mf.dispose();
}

console.log(`memory benchmark on ${machine()}${smoke ? " (smoke run)" : ""}`);
console.log(
  `${RATE} requests/s for ${STEPS} × ${STEP_SECONDS} s; workerd RSS in MiB after each step\n`,
);
console.log(
  table(
    [
      "worker",
      "requests",
      "start",
      ...Array.from({ length: STEPS }, (_, i) => `${(i + 1) * STEP_SECONDS} s`),
    ],
    rows,
  ),
);
