// `_redirects`: parses the file's rules (the syntax and limits of Workers Static Assets and Pages) and matches requests against them.

import { normalizePattern, ruleLines, type ParsedRules, type RuleProblem } from "./rules-file.js";
import { compilePattern, isDynamic, substitute, type Pattern } from "./pattern.js";

/** Statuses a redirect rule may have: 200 rewrites, the others redirect. */
export type RedirectStatus = 200 | 301 | 302 | 303 | 307 | 308;

/** One rule of `_redirects`. */
export interface RedirectRule {
  /** A path pattern: `/old`, `/blog/*`, `/:lang/about`. */
  from: string;
  /** A path (`/new/:splat`, with a query or fragment if wanted) or an `https://` URL; a 200 only a path. */
  to: string;
  status: RedirectStatus;
}

/** Most rules without a splat or placeholder, counted until the first rule with one. */
export const MAX_STATIC_REDIRECTS = 2000;

/** Most rules with a splat or placeholder (and rules after the first such one). */
export const MAX_DYNAMIC_REDIRECTS = 100;

/**
 * Parses a `_redirects` file: lines of `from to [status]` (status 302 by default), `#` comments.
 * Bad lines, duplicates of an earlier `from`, and rules that would loop are skipped and described.
 */
export function parseRedirectsFile(text: string): ParsedRules<RedirectRule> {
  const rules: RedirectRule[] = [];
  const problems: RuleProblem[] = [];
  const seen = new Set<string>();
  const statics = new Map<string, string>();
  let staticCount = 0;
  let dynamicCount = 0;

  const { lines, tooLong } = ruleLines(text);
  let overLimit = tooLong;
  for (const { text: line, number } of lines) {
    const problem = (message: string): void => {
      problems.push({ line: number, text: line, message });
    };
    // A `#` after whitespace starts a comment; one inside a URL is its fragment.
    const fields = line.replace(/\s+#.*$/, "").split(/\s+/);
    if (fields.length < 2 || fields.length > 3) {
      problem(`expected \`from to [status]\`, got ${fields.length} fields`);
      continue;
    }
    const [rawFrom = "", rawTo = "", rawStatus = "302"] = fields;
    const relative = rawFrom.startsWith("/") || rawFrom.startsWith("https://");
    const from = normalizePattern(relative ? rawFrom : `/${rawFrom}`, { allowHost: false });
    if (typeof from !== "string") {
      problem(from.problem);
      continue;
    }
    const dynamic = dynamicCount > 0 || isDynamic(from);
    if (dynamic) dynamicCount++;
    else staticCount++;
    if (staticCount > MAX_STATIC_REDIRECTS) {
      overLimit ??= `it has more than ${MAX_STATIC_REDIRECTS} rules without a splat or placeholder`;
      continue;
    }
    if (dynamicCount > MAX_DYNAMIC_REDIRECTS) {
      overLimit ??= `it has more than ${MAX_DYNAMIC_REDIRECTS} rules with a splat or placeholder (or after the first such rule)`;
      continue;
    }
    const to = normalizePattern(rawTo, { allowHost: true, keepQuery: true });
    if (typeof to !== "string") {
      problem(to.problem);
      continue;
    }
    const status = Number(rawStatus);
    if (!isRedirectStatus(status)) {
      problem(`status must be 200, 301, 302 (the default), 303, 307 or 308, not ${rawStatus}`);
      continue;
    }
    let pattern: Pattern;
    try {
      pattern = compilePattern(from);
    } catch (error) {
      problem((error as Error).message);
      continue;
    }
    const external = to.startsWith("https://");
    if (external && status === 200) {
      problem("a 200 rewrite can only point to a path of this site, not another URL");
      continue;
    }
    if (external && /^https:\/\/[^/]*[*:]/.test(to)) {
      problem(
        "a splat or placeholder in the target's host would let any request choose the site it is sent to",
      );
      continue;
    }
    if (seen.has(from)) {
      problem(`an earlier rule already matches ${from}`);
      continue;
    }
    const loop = external ? undefined : loopOf(from, pattern, to, status, statics);
    if (loop) {
      problem(loop);
      continue;
    }
    seen.add(from);
    if (!dynamic) statics.set(from, to.replace(/[?#].*$/, ""));
    rules.push({ from, to, status });
  }
  return { rules, problems, ...(overLimit ? { overLimit } : {}) };
}

/** Where a request leads by the rules: a redirect's `Location` and status, a rewritten path, or nothing. */
export type RedirectOutcome =
  { location: string; status: Exclude<RedirectStatus, 200> } | { rewrite: string } | null;

/**
 * Matches requests against rules in order, the first match winning; rules before the first
 * dynamic one are looked up by path at once. A redirect keeps the request's query unless the
 * rule's target has one, and a relative target always stays on the request's origin.
 */
export function createRedirectRules(
  rules: readonly RedirectRule[],
): (url: { origin: string; pathname: string; search: string }) => RedirectOutcome {
  if (rules.length === 0) return () => null;
  const statics = new Map<string, RedirectRule>();
  const dynamic: { rule: RedirectRule; pattern: Pattern }[] = [];
  for (const rule of rules) {
    const pattern = compilePattern(rule.from);
    if (dynamic.length === 0 && !pattern.dynamic) {
      if (!statics.has(rule.from)) statics.set(rule.from, rule);
    } else dynamic.push({ rule, pattern });
  }

  return function matchRedirect({ origin, pathname, search }) {
    let rule = statics.get(pathname);
    let target = rule?.to;
    if (rule === undefined) {
      for (const candidate of dynamic) {
        const captures = candidate.pattern.match("", pathname);
        if (captures === null) continue;
        rule = candidate.rule;
        target = substitute(rule.to, captures);
        break;
      }
    }
    if (rule === undefined || target === undefined) return null;
    const external = rule.to.startsWith("https://");
    // What a placeholder took from the request cannot turn a path into `//host`.
    if (!external) target = target.replace(/\\/g, "/").replace(/\/{2,}/g, "/");
    let destination: URL;
    try {
      destination = new URL(target, `${origin}/`);
    } catch {
      return null;
    }
    if (!external && destination.origin !== origin) return null;
    if (rule.status === 200) return { rewrite: destination.pathname };
    const query = destination.search || search;
    const location = external
      ? `${destination.origin}${destination.pathname}${query}${destination.hash}`
      : `${destination.pathname}${query}${destination.hash}`;
    return { location, status: rule.status };
  };
}

/** Whether `status` is one a redirect rule may have. */
export function isRedirectStatus(status: unknown): status is RedirectStatus {
  return STATUSES.has(status as number);
}

const STATUSES = new Set([200, 301, 302, 303, 307, 308]);

/**
 * Why a rule would loop, or `undefined`. A redirect loops when its own pattern matches its target,
 * or the URL html handling serves the target at (`/a.html` at `/a`, `/a/index.html` at `/a/`), or
 * when earlier rules lead its target back to it. A splat rewritten or redirected to an index page
 * would also cover every file under it.
 */
function loopOf(
  from: string,
  pattern: Pattern,
  to: string,
  status: number,
  statics: Map<string, string>,
): string | undefined {
  const target = to.replace(/[?#].*$/, "");
  const page = htmlUrl(target);
  if (from.endsWith("/*") && /\/index(\.html)?$/.test(target)) {
    return 'sends every URL under it, files included, to one page; for a single-page app use notFoundHandling: "single-page-application" instead';
  }
  if (status === 200) return undefined;
  if (pattern.match("", target) || pattern.match("", page)) {
    return `would loop: ${target} ${page === target ? "" : `(served at ${page}) `}matches ${from} again`;
  }
  const visited = new Set<string>([from]);
  for (let next = statics.get(target) ?? statics.get(page); next !== undefined;) {
    if (visited.has(next) || next === from)
      return `would loop: earlier rules lead ${target} back to ${from}`;
    visited.add(next);
    next = statics.get(next) ?? statics.get(htmlUrl(next));
  }
  return undefined;
}

// The URL html handling serves a path at (`auto-trailing-slash`, the default).
function htmlUrl(path: string): string {
  if (path.endsWith("/index.html")) return path.slice(0, -"index.html".length);
  if (path.endsWith("/index")) return path.slice(0, -"index".length);
  if (path.endsWith(".html")) return path.slice(0, -".html".length);
  return path;
}
