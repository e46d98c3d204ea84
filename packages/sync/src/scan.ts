// Lists the files of an output folder that belong on the site, and the ones kept out and why.
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import ignore from "ignore";
import { fail } from "./errors.js";
import { eachLimited } from "./limit.js";

/** A file to publish: its URL path and where it is on disk. */
export interface ScannedFile {
  /** URL path, POSIX, starting with `/`. */
  path: string;
  /** Absolute path on disk. */
  file: string;
  /** Size in bytes. */
  size: number;
}

/** A file left out, with the reason. */
export interface SkippedFile {
  path: string;
  reason: "dotfile" | "assetsignore" | "exclude" | "secret" | "sourcemap";
}

/** Options of {@link scanDirectory}. */
export interface ScanOptions {
  /**
   * More files to leave out, in `.gitignore` syntax, relative to the folder.
   * @default []
   */
  exclude?: string[];
  /**
   * Publish source maps (`*.map`). They show your source to anyone, so they are left out unless asked for.
   * @default false
   */
  includeSourceMaps?: boolean;
}

/**
 * Walks `dir` and returns what to publish. Dotfiles are left out except under `.well-known/`;
 * `.assetsignore` (gitignore syntax, as in Workers Static Assets) and `exclude` are honoured;
 * secrets and deploy config (`.dev.vars`, `.env*`, `wrangler.json`, `wrangler.jsonc`,
 * `wrangler.toml`) and source maps are never published. A `.gitignore` above the folder is not
 * read, so a parent that ignores `dist` cannot hide the whole site.
 */
export async function scanDirectory(
  dir: string,
  options: ScanOptions = {},
): Promise<{ files: ScannedFile[]; skipped: SkippedFile[] }> {
  const exclude = options.exclude ?? [];
  const includeSourceMaps = options.includeSourceMaps ?? false;
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory())
    fail(`output folder ${dir} does not exist; build the site first or pass the right folder`);

  const assetsIgnore = ignore().add(
    await readFile(join(dir, ".assetsignore"), "utf8").catch(() => ""),
  );
  const excluded = ignore().add(exclude);
  const files: ScannedFile[] = [];
  const skipped: SkippedFile[] = [];

  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const candidates: { path: string; absolute: string }[] = [];
  for (const entry of entries) {
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const absolute = join(entry.parentPath, entry.name);
    const rel = relative(dir, absolute).split(sep).join("/");
    const path = `/${rel}`;
    const reason = classify(rel, assetsIgnore, excluded, includeSourceMaps);
    if (reason) skipped.push({ path, reason });
    else candidates.push({ path, absolute });
  }
  // Many stats at once: one after the other, they cost seconds on sites of tens of thousands of files.
  await eachLimited(candidates, 64, async ({ path, absolute }) => {
    const fileInfo = await stat(absolute).catch(() => null);
    if (!fileInfo) fail(`cannot read ${absolute}; check its permissions or remove it`);
    if (fileInfo.isFile()) files.push({ path, file: absolute, size: fileInfo.size });
  });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped };
}

const SECRET = /(^|\/)(\.dev\.vars(\..*)?|\.env(\..*)?|wrangler\.(json|jsonc|toml))$/;

function classify(
  rel: string,
  assetsIgnore: ReturnType<typeof ignore>,
  excluded: ReturnType<typeof ignore>,
  includeSourceMaps: boolean,
): SkippedFile["reason"] | undefined {
  if (SECRET.test(rel)) return "secret";
  const segments = rel.split("/");
  if (segments.some((s) => s.startsWith(".") && s !== ".well-known")) return "dotfile";
  if (!includeSourceMaps && rel.endsWith(".map")) return "sourcemap";
  if (assetsIgnore.ignores(rel)) return "assetsignore";
  if (excluded.ignores(rel)) return "exclude";
  return undefined;
}
