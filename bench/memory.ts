// npm run bench:memory — resident memory of workerd while it serves the same file for a minute,
// once through kv-assets and once through a bare KV.get, each in a fresh workerd, side by side.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { loadMix, machine, smoke, table } from "./lib.js";

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
  const known = workerdChildren();
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
  const pid = workerdChildren().find((p) => !known.includes(p)) as number;
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

function workerdChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (name.startsWith("workerd") && ppid === process.pid) pids.push(Number(entry));
    } catch {
      continue;
    }
  }
  return pids;
}

function rss(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}
