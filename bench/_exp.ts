import { build } from "esbuild";
import { Miniflare } from "miniflare";
const src = process.argv[2]!;
await build({ entryPoints: [src], bundle: true, format: "esm", outfile: "/tmp/exp/w.js", logLevel: "error" });
const mf = new Miniflare({ modules: true, modulesRoot: "/tmp/exp", scriptPath: "/tmp/exp/w.js", compatibilityDate: "2026-02-01", port: 0 });
const url = await mf.ready;
const timed = async (p: string, n: number) => { const t = performance.now(); await (await fetch(new URL(`/?p=${p}&n=${n}`, url))).text(); return performance.now() - t; };
const N = Number(process.argv[4] ?? 20000);
const names = process.argv[3]!.split(",");
for (const p of names) await timed(p, N / 4);
const res: Record<string, number[]> = {};
for (let round = 0; round < 9; round++) for (const p of names) { const e = await timed(p, 0); (res[p] ??= []).push(((await timed(p, N)) - e) * 1000 / N); }
for (const p of names) { const s = res[p]!.sort((a, b) => a - b); console.log(p.padEnd(14), "min", s[0]!.toFixed(2), "median", s[4]!.toFixed(2), "µs"); }
await mf.dispose();
