// The site's `_headers` and `_redirects`: read from the root of what is published, checked, and kept for the manifest.
import { constants } from "node:fs";
import { lstat, open, realpath } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import {
  parseHeadersFile,
  parseRedirectsFile,
  type HeaderRule,
  type ParsedRules,
  type RedirectRule,
} from "@kv-assets/runtime/format";
import { describeError, fail } from "./errors.js";
import type { SyncLogger } from "./options.js";

/** The rules a manifest carries; absent when the site has no such file (or it holds no rule). */
export interface SiteRules {
  headers?: HeaderRule[];
  redirects?: RedirectRule[];
}

/** Largest `_headers` or `_redirects` read: well over what their rule and line limits allow. */
const RULES_FILE_LIMIT = 8 * 1024 * 1024;

/**
 * Reads `_headers` and `_redirects` at the root of `dir` (or of `files`), as Workers Static
 * Assets and Pages do. Each bad line is reported with its line number and skipped; a file over
 * the limits stops the sync. Rules move under `basePath` with the files.
 */
export async function readSiteRules(
  source: { dir?: string; files?: Record<string, Uint8Array | string> },
  basePath: string,
  logger: SyncLogger,
): Promise<SiteRules> {
  const rules: SiteRules = {};
  const headers = await readRulesFile(source, "_headers", logger);
  if (headers !== undefined) {
    const parsed = checked(headers.shown, parseHeadersFile(headers.text), logger);
    if (parsed.length > 0) rules.headers = parsed.map((rule) => underBase(rule, basePath));
    logger.info(`${headers.shown}: ${count(parsed.length, "header rule")}`);
  }
  const redirects = await readRulesFile(source, "_redirects", logger);
  if (redirects !== undefined) {
    const parsed = checked(redirects.shown, parseRedirectsFile(redirects.text), logger);
    if (parsed.length > 0)
      rules.redirects = parsed.map((rule) => redirectUnderBase(rule, basePath));
    logger.info(`${redirects.shown}: ${count(parsed.length, "redirect rule")}`);
  }
  return rules;
}

function checked<Rule>(shown: string, parsed: ParsedRules<Rule>, logger: SyncLogger): Rule[] {
  for (const problem of parsed.problems) {
    logger.warn(`${shown}:${problem.line}: ${problem.message}; skipped \`${problem.text}\``);
  }
  if (parsed.overLimit) {
    fail(
      `${shown} is over the limits of Workers Static Assets (${parsed.overLimit}); nothing was published. Shorten it, or move rules into code with serveAsset's headers and redirects options`,
    );
  }
  return parsed.rules;
}

async function readRulesFile(
  source: { dir?: string; files?: Record<string, Uint8Array | string> },
  name: string,
  logger: SyncLogger,
): Promise<{ text: string; shown: string } | undefined> {
  if (source.files !== undefined) {
    const body = source.files[`/${name}`];
    if (body === undefined) return undefined;
    return { text: typeof body === "string" ? body : new TextDecoder().decode(body), shown: name };
  }
  const dir = source.dir as string;
  const path = join(dir, name);
  const shown = relative(process.cwd(), path) || path;
  const info = await lstat(path).catch(() => null);
  if (info === null) return undefined;
  let file = path;
  if (info.isSymbolicLink()) {
    // Followed, like a published file's link, only to a regular file inside the folder.
    const root = await realpath(dir);
    const target = await realpath(path).catch(() => null);
    if (target === null || !target.startsWith(root + sep)) {
      logger.warn(`${shown} is a link that does not point to a file in the folder; not read`);
      return undefined;
    }
    file = target;
  }
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    fail(`cannot read ${shown}: ${describeError(error)}`, error);
  }
  try {
    const opened = await handle.stat();
    if (!opened.isFile()) {
      logger.warn(`${shown} is not a regular file; not read`);
      return undefined;
    }
    if (opened.size > RULES_FILE_LIMIT) {
      fail(
        `${shown} is ${opened.size} bytes; a rules file this large is over any limit of its rules`,
      );
    }
    return { text: await handle.readFile("utf8"), shown };
  } finally {
    await handle.close();
  }
}

function underBase(rule: HeaderRule, basePath: string): HeaderRule {
  return basePath === "/" ? rule : { ...rule, path: withBase(rule.path, basePath) };
}

function redirectUnderBase(rule: RedirectRule, basePath: string): RedirectRule {
  if (basePath === "/") return rule;
  const to = rule.to.startsWith("/") ? withBase(rule.to, basePath) : rule.to;
  return { ...rule, from: withBase(rule.from, basePath), to };
}

// `/x` under `/app/` is `/app/x`; so is the path of `https://host/x`.
function withBase(pattern: string, basePath: string): string {
  const absolute = /^(https:\/\/[^/]+)(\/.*)?$/.exec(pattern);
  if (absolute) return `${absolute[1]}${basePath.slice(0, -1)}${absolute[2] ?? "/"}`;
  return basePath.slice(0, -1) + pattern;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}
