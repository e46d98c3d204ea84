// npm run bench:manifest — bytes per file and cold-start cost of the manifest by file count:
// compiled into the Worker as the Vite plugin does (a Text module of the packed form), as JSON
// (as it did before), or read from KV in shards; against Workers Static Assets' ~40 bytes. Cold
// starts are measured in workerd: each is a fresh Dynamic Worker isolate, loaded through a
// Worker Loader, answering its first request.
import { createHash } from "node:crypto";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { manifestText, packManifest, shardOf } from "@kv-assets/runtime/format";
import { createManifest, shardManifest, type ManifestFile } from "@kv-assets/runtime/format";
import { hashBytes } from "@kv-assets/runtime/publish";
import { generateSite, machine, median, ratio, smoke, table } from "./lib.js";

/** Workers Static Assets' binary manifest: a path hash and a content hash per file, about 40 bytes. */
const STATIC_ASSETS_BYTES_PER_FILE = 40;
const counts = smoke ? [200] : [1_000, 10_000, 50_000];
const runs = smoke ? 1 : 15;

// The runtime as one ES module, imported by every measured Worker (the empty one too), so what
// is left after subtracting the empty Worker is the manifest's own cost.
const runtime = (
  await build({
    stdin: {
      contents:
        'export * from "@kv-assets/runtime"; export { findPacked } from "@kv-assets/runtime/format";',
      resolveDir: import.meta.dirname,
    },
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    logLevel: "error",
  })
).outputFiles[0]!.text;

type Modules = Record<string, string | { text: string }>;
const rows: (string | number)[][] = [];
for (const count of counts) {
  const manifest = createManifest(await syncedFiles(count), {
    prefix: "",
    chunk: 25 * 1024 * 1024,
    created: Date.UTC(2026, 0, 1),
  });
  const probe = Object.keys(manifest.files)[Math.floor(count / 2)] as string;
  const pathBytes = Object.keys(manifest.files).reduce((sum, p) => sum + p.length + 3, 0);
  const text = manifestText(packManifest(manifest));
  const json = JSON.stringify(manifest);
  const sharded = await shardManifest(manifest, Math.ceil(count / 1000));
  const indexText = JSON.stringify(sharded.index);
  const shardBytes = median(sharded.shards.map((s) => s.text.length));

  // What each Worker does at startup and on its first request: find `probe`.
  const lookup = `if (!found) throw new Error("lookup failed");`;
  const forms: Record<string, Modules> = {
    empty: { "index.js": worker("", `const found = true;`) },
    // The Vite plugin's module: the Text module read by readManifestText.
    packed: {
      "index.js": worker(
        `import text from "./manifest.txt";`,
        `const found = findPacked(readManifestText(text).packed, ${JSON.stringify(probe)});`,
      ),
      "manifest.txt": { text },
    },
    json: {
      "index.js": worker(
        "",
        `const m = JSON.parse(${JSON.stringify(json)});\nconst found = Object.hasOwn(m.files, ${JSON.stringify(probe)});`,
      ),
    },
    // loadManifest's work once KV has answered: parse the index and the one shard a path needs.
    sharded: {
      "index.js": worker(
        `import index from "./index.txt";\nimport shard from "./shard.txt";`,
        `JSON.parse(index);\nconst found = Object.hasOwn(JSON.parse(shard), ${JSON.stringify(probe)});`,
      ),
      "index.txt": { text: indexText },
      "shard.txt": {
        text: sharded.shards[shardOf(probe, sharded.shards.length)]!.text,
      },
    },
  };
  const cold = await coldStarts(forms, runs);
  const perFile = (bytes: number): string => (bytes / count).toFixed(1);
  rows.push([
    count.toLocaleString("en"),
    perFile(text.length),
    perFile(text.length - pathBytes),
    ratio((text.length - pathBytes) / count, STATIC_ASSETS_BYTES_PER_FILE),
    cold.packed!.toFixed(2),
    perFile(json.length - pathBytes),
    cold.json!.toFixed(2),
    `${indexText.length.toLocaleString("en")} + ${shardBytes.toLocaleString("en")}`,
    cold.sharded!.toFixed(2),
  ]);

  function worker(imports: string, code: string): string {
    return `import { findPacked, readManifestText } from "./runtime.js";\n${imports}\n${code}\n${lookup}\nexport default { fetch() { return new Response("ok"); } };\n`;
  }
}

console.log(`manifest benchmark on ${machine()}${smoke ? " (smoke run)" : ""}\n`);
console.log(
  table(
    [
      "files",
      "packed bytes/file",
      "without paths",
      "vs WSA (40 B)",
      "packed cold start ms",
      "JSON without paths",
      "JSON cold start ms",
      "KV index + one shard, bytes",
      "sharded cold start ms",
    ],
    rows,
  ),
);
// What Early Hints adds: every page with the Link a Vite page has (its entry script and stylesheet).
const hints: (string | number)[][] = [];
for (const count of counts) {
  const files = await syncedFiles(count);
  const options = { prefix: "", chunk: 25 * 1024 * 1024, created: Date.UTC(2026, 0, 1) };
  const plain = createManifest(files, options);
  const pages = files.filter((file) => file.path.endsWith(".html"));
  const withLinks = createManifest(
    files.map((file, i) =>
      file.path.endsWith(".html")
        ? {
            ...file,
            link: `</assets/index-${(i % 50).toString(36).padStart(8, "x")}.js>; rel=modulepreload; crossorigin, </assets/index-${(i % 50).toString(36).padStart(8, "y")}.css>; rel=preload; as=style; crossorigin`,
          }
        : file,
    ),
    { ...options, earlyHints: true },
  );
  const packedBytes = (m: typeof plain): number => manifestText(packManifest(m)).length;
  const added = packedBytes(withLinks) - packedBytes(plain);
  hints.push([
    count.toLocaleString("en"),
    pages.length.toLocaleString("en"),
    (added / pages.length).toFixed(1),
    (added / count).toFixed(1),
    ((JSON.stringify(withLinks).length - JSON.stringify(plain).length) / count).toFixed(1),
  ]);
}
console.log(
  "\nEarly Hints (`earlyHints`): bytes the pages' Link headers add when every page has the Link of a Vite page (an entry script and a stylesheet, about 130 characters), 50 different values among the pages, each value kept once:\n",
);
console.log(
  table(["files", "pages", "packed bytes/page", "packed bytes/file", "JSON bytes/file"], hints),
);

// What each feature that adds to entries costs, over the same synced files: the packed form (the
// Vite plugin's Text module) and the JSON stored in KV, in bytes per file of the whole site.
const features: (string | number)[][] = [];
const sha = (seed: string): string => createHash("sha256").update(seed).digest("base64");
for (const count of counts) {
  const files = await syncedFiles(count);
  const options = { prefix: "", chunk: 25 * 1024 * 1024, created: Date.UTC(2026, 0, 1) };
  // Beside every image a WebP and an AVIF, beside every page its Markdown: both sides have them,
  // so what differs is the alternates the entries record.
  const siblings = files.flatMap((file) =>
    /\.png$/.test(file.path)
      ? [sibling(file, "webp", "image/webp", 0.6), sibling(file, "avif", "image/avif", 0.45)]
      : /\.html$/.test(file.path)
        ? [sibling(file, "md", "text/markdown; charset=utf-8", 0.5)]
        : [],
  );
  const site = [...files, ...siblings];
  const base = createManifest(site, options);
  const measured: [string, ReturnType<typeof createManifest>][] = [
    [
      "digests (sha-256 of every body and variant)",
      createManifest(
        site.map((file) => ({
          ...file,
          digest: sha(file.path),
          variants: file.variants.map((v) => ({ ...v, digest: sha(v.encoding + file.path) })),
        })),
        options,
      ),
    ],
    [
      "zstd variants beside br and gzip",
      createManifest(
        site.map((file) =>
          file.variants.length === 0
            ? file
            : {
                ...file,
                variants: [
                  file.variants[0]!,
                  {
                    encoding: "zstd" as const,
                    hash: file.hash.split("").reverse().join(""),
                    size: Math.floor(file.size * 0.24),
                  },
                  ...file.variants.slice(1),
                ],
              },
        ),
        options,
      ),
    ],
    [
      "Accept variants (images and pages with siblings)",
      createManifest(site, { ...options, acceptVariants: true }),
    ],
  ];
  const packedBytes = (m: typeof base): number => manifestText(packManifest(m)).length;
  for (const [feature, manifest] of measured) {
    features.push([
      count.toLocaleString("en"),
      feature,
      ((packedBytes(manifest) - packedBytes(base)) / site.length).toFixed(1),
      ((JSON.stringify(manifest).length - JSON.stringify(base).length) / site.length).toFixed(1),
    ]);
  }
  features.push([count.toLocaleString("en"), "multipart ranges (runtime only)", "0.0", "0.0"]);
}
console.log(
  "\nBytes per file each feature adds to the manifest, over the same site (images with a WebP and an AVIF beside them, pages with their Markdown, so the file counts are those plus the siblings):\n",
);
console.log(table(["files", "feature", "packed bytes/file", "KV JSON bytes/file"], features));

function sibling(
  file: ManifestFile,
  extension: string,
  contentType: string,
  factor: number,
): ManifestFile {
  const path = file.path.replace(/\.\w+$/, `.${extension}`);
  return {
    ...file,
    path,
    hash: file.hash.slice(8) + file.hash.slice(0, 8),
    size: Math.floor(file.size * factor),
    contentType,
    variants: extension === "md" ? file.variants : [],
  };
}

console.log(
  `\ncold start = a fresh isolate in workerd loading the Worker and answering one request that needs one lookup, less the same for a Worker without a manifest; median of ${runs}. Bytes of the packed form are those of its Text module; of the sharded form, those read from KV.`,
);

/**
 * Milliseconds each form's Worker adds to a cold start over the `empty` one: for each run, a
 * Worker Loader starts a new isolate for every form in turn, and the request that makes it is
 * timed from here, less a request to the same (now warm) isolate.
 */
async function coldStarts(
  forms: Record<string, Modules>,
  n: number,
): Promise<Record<string, number>> {
  const mf = new Miniflare({
    modules: true,
    compatibilityDate: "2026-02-01",
    workerLoaders: { LOADER: {} },
    script: `
      let next = 0;
      const forms = new Map();
      export default {
        async fetch(request, env) {
          const url = new URL(request.url);
          if (request.method === "PUT") {
            forms.set(url.searchParams.get("form"), await request.json());
            return new Response(null);
          }
          const id = url.searchParams.get("id") ?? String(next++);
          const modules = forms.get(url.searchParams.get("form"));
          const stub = env.LOADER.get(id, () => ({
            compatibilityDate: "2026-02-01",
            mainModule: "index.js",
            modules,
            globalOutbound: null,
          }));
          await (await stub.getEntrypoint().fetch("http://worker/")).text();
          return new Response(id);
        },
      };`,
  });
  try {
    for (const [name, modules] of Object.entries(forms)) {
      await mf.dispatchFetch(`http://bench/?form=${name}`, {
        method: "PUT",
        body: JSON.stringify({ ...modules, "runtime.js": runtime }),
      });
    }
    const timed = async (query: string): Promise<[number, string]> => {
      const started = performance.now();
      const response = await mf.dispatchFetch(`http://bench/?${query}`);
      const id = await response.text();
      const elapsed = performance.now() - started;
      // A Worker whose lookup failed throws at startup; its time would mean nothing.
      if (!response.ok) throw new Error(`${query}: the measured Worker failed: ${id}`);
      return [elapsed, id];
    };
    const costs: Record<string, number[]> = {};
    for (let run = -1; run < n; run++) {
      for (const name of Object.keys(forms)) {
        const [cold, id] = await timed(`form=${name}`);
        const [warm] = await timed(`form=${name}&id=${id}`);
        if (run >= 0) (costs[name] ??= []).push(cold - warm);
      }
    }
    const empty = median(costs.empty!);
    return Object.fromEntries(
      Object.entries(costs).map(([name, list]) => [name, Math.max(0, median(list) - empty)]),
    );
  } finally {
    await mf.dispose();
  }
}

async function syncedFiles(count: number): Promise<ManifestFile[]> {
  const encoder = new TextEncoder();
  return Promise.all(
    generateSite(count).map(async (file, i): Promise<ManifestFile> => {
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
