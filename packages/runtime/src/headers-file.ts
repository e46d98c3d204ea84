// `_headers`: parses the file's rules (the syntax and limits of Workers Static Assets and Pages) and applies them to responses.

import { boundedMap } from "./bounded.js";
import { compilePattern, substitute, type Captures, type Pattern } from "./pattern.js";
import { normalizePattern, ruleLines, type ParsedRules, type RuleProblem } from "./rules-file.js";

/** One rule of `_headers`: headers to set (or add to) and to remove on responses whose URL matches `path`. */
export interface HeaderRule {
  /** A path (`/blog/*`, `/:lang/about`) or an absolute `https://host/path` pattern. */
  path: string;
  /** Header name (lower case) to value; values may use the pattern's `:splat` and `:name`. */
  set?: Record<string, string>;
  /** Header names (lower case) to remove. */
  unset?: string[];
}

/** Most rules a `_headers` file may hold. */
export const MAX_HEADER_RULES = 100;

/**
 * Parses a `_headers` file. A line starting with `/` or `https://` starts a rule; the lines
 * under it are `Name: value` (repeated names are joined with `, `) or `! Name` to remove one.
 * Blank lines and lines starting with `#` are ignored; bad lines are skipped and described.
 */
export function parseHeadersFile(text: string): ParsedRules<HeaderRule> {
  const rules: HeaderRule[] = [];
  const problems: RuleProblem[] = [];
  let rule:
    | { path: string; set: Record<string, string>; unset: string[]; line: number; text: string }
    | undefined;
  // After a bad path line, its header lines are skipped with it rather than reported one by one.
  let skipping = false;
  const finish = (): void => {
    if (rule === undefined) return;
    const { path, set, unset } = rule;
    const sets = Object.keys(set).length > 0;
    if (!sets && unset.length === 0) {
      problems.push({ line: rule.line, text: rule.text, message: "the rule sets no header" });
    } else {
      rules.push({ path, ...(sets ? { set } : {}), ...(unset.length > 0 ? { unset } : {}) });
    }
    rule = undefined;
  };

  const { lines, tooLong } = ruleLines(text);
  let overLimit = tooLong;
  for (const { text: line, number } of lines) {
    const problem = (message: string): void => {
      problems.push({ line: number, text: line, message });
    };
    if (line.startsWith("/") || /^[^\s]+:\/\//.test(line)) {
      finish();
      skipping = true;
      if (rules.length >= MAX_HEADER_RULES) {
        overLimit ??= `it has more than ${MAX_HEADER_RULES} rules`;
        continue;
      }
      const path = normalizePattern(line, { allowHost: true });
      if (typeof path !== "string") {
        problem(path.problem);
        continue;
      }
      try {
        compilePattern(path);
      } catch (error) {
        problem((error as Error).message);
        continue;
      }
      skipping = false;
      rule = { path, set: {}, unset: [], line: number, text: line };
      continue;
    }
    if (skipping) continue;
    if (rule === undefined) {
      problem("a header comes before any path; start the rule with a line like /path/*");
      continue;
    }
    if (line.startsWith("!")) {
      const name = line.slice(1).trim().toLowerCase();
      if (!TOKEN.test(name)) problem("`! Name` needs a valid header name to remove");
      else if (FRAMING.has(name)) problem(framing(name));
      else rule.unset.push(name);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon === -1) {
      problem("expected `Name: value`");
      continue;
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!TOKEN.test(name)) {
      problem(
        name === "" ? "the header has no name" : `${JSON.stringify(name)} is not a header name`,
      );
      continue;
    }
    if (value === "") {
      problem("the header has no value");
      continue;
    }
    if (FRAMING.has(name)) {
      problem(framing(name));
      continue;
    }
    const { set } = rule;
    set[name] = Object.hasOwn(set, name) ? `${set[name]}, ${value}` : value;
  }
  finish();
  return { rules, problems, ...(overLimit ? { overLimit } : {}) };
}

/**
 * Applies header rules to responses. Every matching rule applies, in order: its removals first,
 * then its headers, where the first rule to set a header replaces what the response had and later
 * ones add to it. Matches are kept per URL, so a hot path tests the patterns once.
 */
export function createHeaderRules(
  rules: readonly HeaderRule[],
): (url: { origin: string; pathname: string }, response: Response) => Response {
  if (rules.length === 0) return (_url, response) => response;
  const compiled = rules.map((rule) => ({ rule, pattern: compilePattern(rule.path) }));
  const anyAbsolute = compiled.some((c) => c.pattern.absolute);
  const matches = boundedMap<string, { rule: HeaderRule; captures: Captures }[]>(1000);

  return function applyHeaderRules({ origin, pathname }, response) {
    // The host matters only to rules that name one.
    const host = anyAbsolute ? hostOf(origin) : "";
    const id = anyAbsolute ? `${host}${pathname}` : pathname;
    let found = matches.get(id);
    if (found === undefined) {
      found = matching(compiled, host, pathname);
      if (id.length <= 512) matches.set(id, found);
    }
    if (found.length === 0) return response;
    // Every response passed here was made by the handler, so its headers can change in place.
    const headers = response.headers;
    const encoded = headers.has("Content-Encoding");
    const set = new Set<string>();
    for (const { rule, captures } of found) {
      for (const name of rule.unset ?? []) headers.delete(name);
      for (const [name, template] of Object.entries(rule.set ?? {})) {
        const value = substitute(template, captures);
        // A value made invalid by what the request put in a placeholder is left out.
        try {
          // A Link the handler set (the page's Early Hints) is kept and added to, not replaced.
          if (set.has(name) || (name === "link" && headers.has("link")))
            headers.append(name, value);
          else headers.set(name, value);
          set.add(name);
        } catch {}
      }
    }
    // A body a rule says is encoded (a Unity build's `.wasm.br`) is sent as it is stored, not
    // encoded again by the runtime.
    if (!encoded && headers.has("Content-Encoding")) {
      return new Response(response.body, {
        status: response.status,
        headers,
        encodeBody: "manual",
      });
    }
    return response;
  };
}

// The host of an origin, without its port, as absolute rules name it.
function hostOf(origin: string): string {
  const host = origin.slice(origin.indexOf("//") + 2);
  return host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.replace(/:\d+$/, "");
}

function matching(
  compiled: { rule: HeaderRule; pattern: Pattern }[],
  host: string,
  pathname: string,
): { rule: HeaderRule; captures: Captures }[] {
  const found: { rule: HeaderRule; captures: Captures }[] = [];
  for (const { rule, pattern } of compiled) {
    const captures = pattern.match(host, pathname);
    if (captures) found.push({ rule, captures });
  }
  return found;
}

// Headers that frame each response's body: the handler sets them for every answer.
const FRAMING = new Set(["content-length", "content-range", "transfer-encoding", "connection"]);

function framing(name: string): string {
  return `${name} frames each response's body, so the server sets it; a rule cannot change it`;
}

// A header name (RFC 9110 §5.6.2).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
