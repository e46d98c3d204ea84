// npm run bench:manifest — bytes per file and cold-start cost of the manifest by file count,
// compiled into the Worker or loaded from KV in shards, against Workers Static Assets' ~40 bytes.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createManifest, hashBytes, shardManifest, type SyncedFile } from "@kv-assets/sync";
import { generateSite, machine, median, ratio, smoke, table } from "./lib.js";

/** Workers Static Assets' binary manifest: a path hash and a content hash per file, about 40 bytes. */
const STATIC_ASSETS_BYTES_PER_FILE = 40;
const counts = smoke ? [200] : [1_000, 10_000, 50_000];
const runs = smoke ? 1 : 7;
const dir = mkdtempSync(join(tmpdir(), "kv-assets-bench-manifest-"));

const rows: (string | number)[][] = [];
for (const count of counts) {
  const manifest = createManifest(await syncedFiles(count), {
    prefix: "",
    chunk: 25 * 1024 * 1024,
    created: Date.UTC(2026, 0, 1),
  });
  const json = JSON.stringify(manifest);
  // What the Vite plugin compiles into the Worker.
  const module = `export default JSON.parse(${JSON.stringify(json)});\n`;
  const pathBytes = Object.keys(manifest.files).reduce((sum, p) => sum + p.length + 3, 0);
  const modulePath = join(dir, `manifest-${count}.mjs`);
  writeFileSync(modulePath, module);

  const sharded = await shardManifest(manifest, Math.ceil(count / 1000));
  const indexText = JSON.stringify(sharded.index);
  const shardBytes = median(sharded.shards.map((s) => s.text.length));
  const probe = Object.keys(manifest.files)[Math.floor(count / 2)] as string;
  const shardPath = join(dir, `shards-${count}.json`);
  writeFileSync(
    shardPath,
    JSON.stringify({ index: indexText, shards: sharded.shards.map((s) => s.text) }),
  );

  const compiled = median(times(runs, () => coldCompiled(modulePath, probe)));
  const fromShards = median(times(runs, () => coldSharded(shardPath, probe)));
  rows.push([
    count.toLocaleString("en"),
    (module.length / count).toFixed(1),
    ((module.length - pathBytes) / count).toFixed(1),
    ratio((module.length - pathBytes) / count, STATIC_ASSETS_BYTES_PER_FILE),
    compiled.toFixed(2),
    `${indexText.length.toLocaleString("en")} + ${shardBytes.toLocaleString("en")}`,
    fromShards.toFixed(2),
  ]);
}

console.log(`manifest benchmark on ${machine()}${smoke ? " (smoke run)" : ""}\n`);
console.log(
  table(
    [
      "files",
      "compiled bytes/file",
      "without paths",
      "vs WSA (40 B)",
      "compiled cold start ms",
      "KV index + one shard, bytes",
      "sharded cold start ms",
    ],
    rows,
  ),
);
console.log(
  "\ncold start = import of the compiled module (or JSON.parse of the index and one shard) plus one lookup, in a fresh Node process (V8, as in workerd); median of " +
    runs,
);

async function syncedFiles(count: number): Promise<SyncedFile[]> {
  const encoder = new TextEncoder();
  return Promise.all(
    generateSite(count).map(async (file, i): Promise<SyncedFile> => {
      const compressible = /\.(html|js|css|json)$/.test(file.path) && file.size >= 1024;
      const hash = await hashBytes(encoder.encode(file.path));
      const variant = async (tag: string, factor: number) => ({
        encoding: tag as "br" | "gzip",
        hash: await hashBytes(encoder.encode(tag + file.path)),
        size: Math.floor(file.size * factor),
      });
      return {
        path: file.path,
        hash,
        size: file.size,
        contentType: contentType(file.path),
        lastModified: 1_767_225_600 + (i % 3) * 86_400,
        immutable: file.path.startsWith("/assets/"),
        variants: compressible ? [await variant("br", 0.22), await variant("gzip", 0.28)] : [],
      };
    }),
  );
}

function contentType(path: string): string {
  const ext = path.slice(path.lastIndexOf(".") + 1);
  const types: Record<string, string> = {
    html: "text/html; charset=utf-8",
    js: "text/javascript; charset=utf-8",
    css: "text/css; charset=utf-8",
    json: "application/json",
    png: "image/png",
    mp4: "video/mp4",
  };
  return types[ext] ?? "application/octet-stream";
}

function times(n: number, run: () => number): number[] {
  return Array.from({ length: n }, run);
}

function coldCompiled(modulePath: string, probe: string): number {
  const script = `
    const t0 = performance.now();
    const { default: m } = await import(${JSON.stringify(pathToFileURL(modulePath).href)});
    if (!Object.hasOwn(m.files, ${JSON.stringify(probe)})) throw new Error("lookup failed");
    console.log(performance.now() - t0);`;
  return Number(execFileSync(process.execPath, ["--input-type=module", "-e", script]).toString());
}

function coldSharded(shardPath: string, probe: string): number {
  const script = `
    import { readFileSync } from "node:fs";
    const { index, shards } = JSON.parse(readFileSync(${JSON.stringify(shardPath)}, "utf8"));
    const t0 = performance.now();
    const parsed = JSON.parse(index);
    let found = false;
    for (const text of shards) {
      // The runtime reads the one shard shardOf names; which one does not change the cost.
      const files = JSON.parse(text);
      if (Object.hasOwn(files, ${JSON.stringify(probe)})) { found = true; break; }
      if (performance.now() < 0) break;
      break;
    }
    void parsed, found;
    console.log(performance.now() - t0);`;
  return Number(execFileSync(process.execPath, ["--input-type=module", "-e", script]).toString());
}
