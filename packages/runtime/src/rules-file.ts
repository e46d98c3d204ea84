// What `_headers` and `_redirects` share: their lines, their limit on a line, how a bad line is told, and the form of their paths.

/** A line of a rules file that was skipped, and why. */
export interface RuleProblem {
  /** 1-based line number. */
  line: number;
  text: string;
  message: string;
}

/** What parsing a rules file gives: the rules, the lines skipped, and a limit the file went over. */
export interface ParsedRules<Rule> {
  rules: Rule[];
  problems: RuleProblem[];
  /** Set when the file is over a limit (rules or line length); a sync refuses such a file. */
  overLimit?: string;
}

/** Longest line of a `_headers` or `_redirects` file, in characters. */
export const MAX_RULE_LINE = 2000;

/** A line of a rules file to read: its text trimmed, and its 1-based number. */
export interface RuleLine {
  text: string;
  number: number;
}

/**
 * The lines of a rules file that hold something: blank lines and `#` comments are left out, and
 * a line over {@link MAX_RULE_LINE} is left out and named in `tooLong` (the first such).
 */
export function ruleLines(text: string): { lines: RuleLine[]; tooLong?: string } {
  const lines: RuleLine[] = [];
  let tooLong: string | undefined;
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (line.length > MAX_RULE_LINE) {
      tooLong ??= `line ${i + 1} is ${line.length} characters, over the limit of ${MAX_RULE_LINE}`;
      continue;
    }
    lines.push({ text: line, number: i + 1 });
  }
  return tooLong === undefined ? { lines } : { lines, tooLong };
}

/**
 * A pattern or URL of a rules file in the form requests are matched in (the URL standard's
 * serialization, so `/café` matches `/caf%C3%A9`), or the problem with it.
 */
export function normalizePattern(
  token: string,
  { allowHost, keepQuery = false }: { allowHost: boolean; keepQuery?: boolean },
): string | { problem: string } {
  const absolute = /^https:\/\/+([^/]+)(.*)$/.exec(token);
  if (absolute) {
    if (!allowHost) return { problem: "only paths starting with / are allowed here" };
    const [, host = "", rest = ""] = absolute;
    if (/:\d+$/.test(host)) return { problem: "a port in the URL is not supported" };
    const path = pathOf(rest, keepQuery);
    return path === null ? { problem: `${token} is not a valid URL` } : `https://${host}${path}`;
  }
  if (!token.startsWith("/")) {
    return {
      problem: allowHost
        ? "expected a path starting with / or a URL starting with https://"
        : "expected a path starting with /",
    };
  }
  const path = pathOf(token, keepQuery);
  return path === null ? { problem: `${token} is not a valid path` } : path;
}

function pathOf(path: string, keepQuery: boolean): string | null {
  try {
    const url = new URL(`https://h${path.startsWith("/") ? "" : "/"}${path}`);
    return url.pathname + (keepQuery ? url.search + url.hash : "");
  } catch {
    return null;
  }
}
