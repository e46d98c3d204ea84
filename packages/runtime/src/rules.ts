// The rules a handler runs with: `_headers` and `_redirects` (from the manifest or given in code) and `runWorkerFirst`.

import { createHeaderRules, parseHeadersFile, type HeaderRule } from "./headers-file.js";
import type { ParsedRules } from "./rules-file.js";
import { logProblem, misconfigured } from "./log.js";
import { escapeRegExp } from "./pattern.js";
import { createRedirectRules, parseRedirectsFile, type RedirectRule } from "./redirects-file.js";

/** Most `runWorkerFirst` patterns, and the longest one, as Workers Static Assets allows. */
export const MAX_WORKER_FIRST = 100;
export const MAX_WORKER_FIRST_LENGTH = 100;

/** The header rules of a handler, from a `_headers` text or from rules. Bad lines are logged once. */
export function headerRulesOf(
  rules: string | readonly HeaderRule[],
): ReturnType<typeof createHeaderRules> {
  const list = typeof rules === "string" ? fromText("_headers", parseHeadersFile(rules)) : rules;
  try {
    return createHeaderRules(list);
  } catch (error) {
    misconfigured(`a header rule cannot be used: ${(error as Error).message}`);
  }
}

/** The redirect rules of a handler, from a `_redirects` text or from rules. Bad lines are logged once. */
export function redirectRulesOf(
  rules: string | readonly RedirectRule[],
): ReturnType<typeof createRedirectRules> {
  const list =
    typeof rules === "string" ? fromText("_redirects", parseRedirectsFile(rules)) : rules;
  try {
    return createRedirectRules(list);
  } catch (error) {
    misconfigured(`a redirect rule cannot be used: ${(error as Error).message}`);
  }
}

/**
 * Whether the app answers a path first, by `runWorkerFirst` patterns: excluded by a `!` pattern
 * first, then included by any other. `undefined` when there are no patterns.
 */
export function workerFirstOf(
  patterns: readonly string[],
): ((pathname: string) => boolean) | undefined {
  if (!Array.isArray(patterns)) misconfigured("runWorkerFirst must be a list of path patterns");
  if (patterns.length === 0) return undefined;
  if (patterns.length > MAX_WORKER_FIRST)
    misconfigured(
      `runWorkerFirst has ${patterns.length} patterns; at most ${MAX_WORKER_FIRST} are allowed`,
    );
  const include: RegExp[] = [];
  const exclude: RegExp[] = [];
  for (const pattern of patterns) {
    const negated = typeof pattern === "string" && pattern.startsWith("!");
    const path = negated ? pattern.slice(1) : pattern;
    if (typeof path !== "string" || !path.startsWith("/"))
      misconfigured(
        `runWorkerFirst pattern ${JSON.stringify(pattern)} must start with "/" or "!/"`,
      );
    if (pattern.length > MAX_WORKER_FIRST_LENGTH)
      misconfigured(
        `runWorkerFirst pattern ${JSON.stringify(pattern)} is over ${MAX_WORKER_FIRST_LENGTH} characters`,
      );
    (negated ? exclude : include).push(globOf(path));
  }
  if (include.length === 0)
    misconfigured(
      `runWorkerFirst has only "!" patterns; add the paths the app answers, like "/api/*"`,
    );
  return function runsWorkerFirst(pathname) {
    if (exclude.some((glob) => glob.test(pathname))) return false;
    return include.some((glob) => glob.test(pathname));
  };
}

// Only `*` is special in a runWorkerFirst pattern: it matches anything, `/` included.
function globOf(pattern: string): RegExp {
  const source = pattern.split("*").map(escapeRegExp).join(".*");
  return new RegExp(`^${source}$`);
}

function fromText<Rule>(file: string, parsed: ParsedRules<Rule>): Rule[] {
  if (parsed.overLimit) misconfigured(`${file} is over its limits: ${parsed.overLimit}`);
  for (const problem of parsed.problems) {
    logProblem(`${file}:${problem.line}: ${problem.message}; skipped \`${problem.text}\``);
  }
  return parsed.rules;
}
