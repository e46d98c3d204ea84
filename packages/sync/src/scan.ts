// Lists the files of an output folder that belong on the site, and the ones kept out and why.
import type { Dirent } from "node:fs";
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import { neverPublished } from "@kv-assets/runtime/publish";
import ignore from "ignore";
import { fail } from "./errors.js";
import { eachLimited } from "./limit.js";

/** A file to publish: its URL path and where it is on disk. */
export interface ScannedFile {
  /** URL path, POSIX, starting with `/`. */
  path: string;
  /** Absolute path on disk of the file itself (a link's target, resolved). */
  file: string;
  /** Size in bytes. */
  size: number;
}

/** Why a file is left out. */
export type SkipReason =
  | "dotfile"
  | "assetsignore"
  | "exclude"
  | "secret"
  | "sourcemap"
  | "platform"
  | "link"
  | "special"
  | "name";

/** A file left out, with the reason. */
export interface SkippedFile {
  path: string;
  reason: SkipReason;
  /** What exactly, for links, special files and names that cannot be served. */
  detail?: string;
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
 * `wrangler.toml`), the platform's own files at the root (`_headers`, `_redirects`, `_routes.json`,
 * `_worker.js`) and source maps are never published. A `.gitignore` above the folder is not
 * read, so a parent that ignores `dist` cannot hide the whole site.
 *
 * A link is published only when it points to a regular file inside the folder that would itself be
 * published; its content is read from that file. Links to folders are not followed. Links that
 * leave the folder or point to nothing, special files (FIFOs, sockets, devices) and names no URL
 * can reach (control characters, a backslash, bytes that are not UTF-8) are left out, each named,
 * and never opened.
 */
export async function scanDirectory(
  dir: string,
  options: ScanOptions = {},
): Promise<{ files: ScannedFile[]; skipped: SkippedFile[] }> {
  const rules = await folderRules(dir, options);
  const root = await realpath(dir);
  const files: ScannedFile[] = [];
  const skipped: SkippedFile[] = [];
  const links: { path: string; absolute: string }[] = [];
  const regular: { path: string; absolute: string }[] = [];

  // Breadth first, one folder's listing at a time, so the order of work does not depend on timing.
  let folders = [{ absolute: root, rel: "" }];
  while (folders.length > 0) {
    const next: typeof folders = [];
    await eachLimited(folders, 16, async (folder) => {
      const entries = await readdir(folder.absolute, { withFileTypes: true, encoding: "buffer" });
      for (const entry of entries) {
        const name = servableName(entry.name);
        if (typeof name !== "string") {
          const shown = `/${folder.rel}${showBytes(entry.name)}`;
          const detail = entry.isDirectory()
            ? `${name.problem}; a folder, with all it holds`
            : name.problem;
          skipped.push({ path: shown, reason: "name", detail });
          continue;
        }
        const rel = folder.rel + name;
        const absolute = join(folder.absolute, name);
        if (entry.isDirectory()) {
          next.push({ absolute, rel: `${rel}/` });
          continue;
        }
        const path = `/${rel}`;
        const reason = rules.classify(rel);
        if (reason) skipped.push({ path, reason });
        else if (entry.isFile()) regular.push({ path, absolute });
        else if (entry.isSymbolicLink()) links.push({ path, absolute });
        else skipped.push({ path, reason: "special", detail: describeSpecial(entry) });
      }
    });
    folders = next;
  }

  // Many stats at once: one after the other, they dominate the scan of a large site (see the sync
  // section of bench/RESULTS.md).
  await eachLimited(regular, 64, async ({ path, absolute }) => {
    const info = await stat(absolute).catch(() => null);
    if (!info) fail(`cannot read ${absolute}; check its permissions or remove it`);
    files.push({ path, file: absolute, size: info.size });
  });
  await eachLimited(links, 64, async ({ path, absolute }) => {
    const followed = await followLink(absolute, root, rules);
    if ("problem" in followed) skipped.push({ path, reason: "link", detail: followed.problem });
    else files.push({ path, file: followed.file, size: followed.size });
  });
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped };
}

/** The rules that leave files out of any sync: of a folder, or of files given in memory. */
export interface FileRules {
  /** Why the file at `rel` (relative to the folder's root, POSIX, no leading `/`) is left out, if it is. */
  classify(rel: string): SkipReason | undefined;
}

/** The rules without a folder: secrets, the platform's files, dotfiles, source maps and `exclude`. */
export function fileRules(options: ScanOptions, assetsIgnore = ""): FileRules {
  const ignored = ignore().add(assetsIgnore);
  const excluded = ignore().add(options.exclude ?? []);
  const includeSourceMaps = options.includeSourceMaps ?? false;
  return {
    classify(rel) {
      const never = neverPublished(rel);
      if (never) return never;
      if (!includeSourceMaps && rel.endsWith(".map")) return "sourcemap";
      if (ignored.ignores(rel)) return "assetsignore";
      if (excluded.ignores(rel)) return "exclude";
      return undefined;
    },
  };
}

/** Says in one line which files a sync left out for reasons a user should know about. */
export function describeSkipped(skipped: SkippedFile[]): string[] {
  const lines: string[] = [];
  for (const [reason, label] of NOTABLE) {
    // `_headers` and `_redirects` are read as the site's rules, which the sync reports itself.
    const these = skipped.filter((s) => s.reason === reason && !RULES_FILES.test(s.path));
    if (these.length === 0) continue;
    const names = these
      .slice(0, 10)
      .map((s) => (s.detail ? `${s.path} (${s.detail})` : s.path))
      .join(", ");
    const more = these.length > 10 ? `, and ${these.length - 10} more` : "";
    lines.push(`${label}: ${names}${more}`);
  }
  return lines;
}

const NOTABLE: [SkipReason, string][] = [
  ["secret", "never uploading secrets or deploy config"],
  ["platform", "never uploading the platform's own files (_routes.json, _worker.js)"],
  ["link", "left out links that do not point to a file of the site"],
  ["special", "left out special files"],
  ["name", "left out files whose names no URL can reach"],
];

const RULES_FILES = /^\/?(_headers|_redirects)$/;

async function folderRules(dir: string, options: ScanOptions): Promise<FileRules> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory())
    fail(`output folder ${dir} does not exist; build the site first or pass the right folder`);
  return fileRules(options, await readFile(join(dir, ".assetsignore"), "utf8").catch(() => ""));
}

// A link is followed only to a regular file inside the folder that the rules would publish.
async function followLink(
  link: string,
  root: string,
  rules: FileRules,
): Promise<{ file: string; size: number } | { problem: string }> {
  const target = await realpath(link).catch(() => null);
  if (target === null) return { problem: "points to nothing" };
  const rel = relative(root, target);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel))
    return { problem: "points outside the folder" };
  const info = await stat(target).catch(() => null);
  if (!info) return { problem: "points to nothing" };
  if (info.isDirectory())
    return { problem: "points to a folder; links to folders are not followed" };
  if (!info.isFile()) return { problem: "points to a special file" };
  const posix = rel.split(sep).join("/");
  const reason = rules.classify(posix);
  if (reason) return { problem: `points to /${posix}, which is left out (${reason})` };
  return { file: target, size: info.size };
}

// A name is served only if it is UTF-8 and holds nothing the runtime refuses in a path.
function servableName(bytes: Buffer): string | { problem: string } {
  let name: string;
  try {
    name = UTF8.decode(bytes);
  } catch {
    return { problem: "the name is not UTF-8" };
  }
  if (/[\u0000-\u001f\u007f]/.test(name)) return { problem: "the name holds control characters" };
  if (name.includes("\\")) return { problem: "the name holds a backslash" };
  return name;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

// Printable ASCII as it is, every other byte as \xNN, so the name is shown exactly and safely.
function showBytes(bytes: Buffer): string {
  return [...bytes]
    .map((b) =>
      b >= 0x20 && b < 0x7f && b !== 0x5c
        ? String.fromCharCode(b)
        : `\\x${b.toString(16).padStart(2, "0")}`,
    )
    .join("");
}

function describeSpecial(entry: Dirent<Buffer>): string {
  if (entry.isFIFO()) return "a named pipe";
  if (entry.isSocket()) return "a socket";
  if (entry.isBlockDevice() || entry.isCharacterDevice()) return "a device";
  return "not a regular file";
}
