// Temporary projects on disk (a wrangler config and an output folder) and a reader of their local KV.
import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { getPlatformProxy } from "wrangler";

export interface Project {
  root: string;
  dist: string;
  config: string;
  write(path: string, body: string | Uint8Array): Promise<void>;
}

/** Creates a project whose wrangler.jsonc binds ASSETS, with `files` in `dist/`. */
export async function makeProject(
  files: Record<string, string | Uint8Array>,
  config: Record<string, unknown> = {
    kv_namespaces: [{ binding: "ASSETS", id: "0f2ac74b498b48028cb68387c421e279" }],
  },
): Promise<Project> {
  const root = await mkdtemp(join(tmpdir(), "kv-assets-"));
  const dist = join(root, "dist");
  const configPath = join(root, "wrangler.jsonc");
  await writeFile(
    configPath,
    `// test project\n${JSON.stringify({ name: "test", compatibility_date: "2026-02-01", ...config }, null, 2)}\n`,
  );
  const write = async (path: string, body: string | Uint8Array): Promise<void> => {
    const file = join(dist, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, body);
  };
  await mkdir(dist, { recursive: true });
  for (const [path, body] of Object.entries(files)) await write(path, body);
  return { root, dist, config: configPath, write };
}

/** Reads every key and value of the project's local KV the way `wrangler dev` would see them. */
export function readLocalKv(
  project: Project,
  binding = "ASSETS",
): Promise<Map<string, Uint8Array>> {
  return withLocalBindings<KvLike>(project, binding, async (kv) => {
    const out = new Map<string, Uint8Array>();
    let cursor: string | undefined;
    do {
      const page = await kv.list({ cursor });
      for (const { name } of page.keys)
        out.set(name, new Uint8Array((await kv.get(name, "arrayBuffer"))!));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return out;
  });
}

/** Reads every object of the project's local R2 bucket, as `wrangler dev` would see it. */
export function readLocalBucket(
  project: Project,
  binding = "BUCKET",
): Promise<Map<string, Uint8Array>> {
  return withLocalBindings<BucketLike>(project, binding, async (bucket) => {
    const out = new Map<string, Uint8Array>();
    const { objects } = await bucket.list({});
    for (const { key } of objects) {
      const object = await bucket.get(key);
      out.set(key, new Uint8Array(await object!.arrayBuffer()));
    }
    return out;
  });
}

/** Runs `use` with one binding of the project's local state, through wrangler's own proxy. */
async function withLocalBindings<B, T = Map<string, Uint8Array>>(
  project: Project,
  binding: string,
  use: (binding: B) => Promise<T>,
): Promise<T> {
  const proxy = await getPlatformProxy<Record<string, B>>({
    configPath: project.config,
    persist: { path: join(project.root, ".wrangler", "state", "v3") },
    envFiles: [],
    remoteBindings: false,
  });
  try {
    return await use(proxy.env[binding]!);
  } finally {
    await proxy.dispose();
  }
}

interface BucketLike {
  list(options: object): Promise<{ objects: { key: string }[] }>;
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
}

interface KvLike {
  get(key: string, type: "arrayBuffer"): Promise<ArrayBuffer | null>;
  list(options: {
    cursor?: string;
  }): Promise<{ keys: { name: string }[]; list_complete: boolean; cursor?: string }>;
}

/** A logger that keeps what it is told. */
export function memoryLogger(): {
  info: (m: string) => void;
  warn: (m: string) => void;
  lines: string[];
} {
  const lines: string[] = [];
  return { info: (m) => lines.push(m), warn: (m) => lines.push(m), lines };
}
