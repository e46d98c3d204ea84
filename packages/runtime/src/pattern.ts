// URL patterns of `_headers`, `_redirects` and `runWorkerFirst`, matched as Workers Static Assets matches them.

/** Captures of a match: `splat` for `*`, and each `:name`. */
export type Captures = Record<string, string>;

/** A compiled pattern: the captures of a request it matches, or `null`. */
export interface Pattern {
  /** Whether the pattern names a host (`https://host/path`), so it is matched against `https://{host}{path}`. */
  absolute: boolean;
  /** Whether the pattern has a splat or a placeholder (else it matches one URL exactly). */
  dynamic: boolean;
  match(host: string, pathname: string): Captures | null;
}

/**
 * Compiles a pattern. A `*` matches any run of characters (captured as `splat`); a `:name`
 * matches one path segment, or in the host one label. Everything else matches itself. Throws
 * when the pattern cannot be compiled (two splats, a name used twice).
 */
export function compilePattern(pattern: string): Pattern {
  const absolute = pattern.startsWith("https://");
  const hostEnd = absolute ? pattern.indexOf("/", "https://".length) : 0;
  const names = new Set<string>();
  let source = "";
  for (const [index, token] of tokens(pattern)) {
    if (token === "*") {
      if (names.has("splat")) throw new Error("a pattern may have only one * (or :splat)");
      names.add("splat");
      source += "(?<splat>.*)";
    } else if (token.length > 1 && token.startsWith(":")) {
      const name = token.slice(1);
      if (names.has(name)) throw new Error(`the placeholder :${name} is used twice`);
      names.add(name);
      const inHost = absolute && (hostEnd === -1 || index < hostEnd);
      source += inHost ? `(?<${name}>[^/.]+)` : `(?<${name}>[^/]+)`;
    } else {
      source += escapeRegExp(token);
    }
  }
  const regExp = new RegExp(`^${source}$`);
  const dynamic = isDynamic(pattern);
  return {
    absolute,
    dynamic,
    match(host, pathname) {
      const subject = absolute ? `https://${host}${pathname}` : pathname;
      if (!dynamic) return subject === pattern ? {} : null;
      const found = regExp.exec(subject);
      return found ? { ...found.groups } : null;
    },
  };
}

/** `text` with each `:name` that `captures` has replaced by its value; other text is left as it is. */
export function substitute(text: string, captures: Captures): string {
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    Object.hasOwn(captures, name) ? (captures[name] as string) : whole,
  );
}

/** `text` with every character a regular expression gives a meaning to escaped. */
export function escapeRegExp(text: string): string {
  return text.replace(/[-/\\^$*+?.()|[\]{}]/g, "\\$&");
}

/** Whether a pattern has a splat or a placeholder. */
export function isDynamic(pattern: string): boolean {
  return pattern.includes("*") || HAS_PLACEHOLDER.test(pattern);
}

// Placeholder names start with a letter and go on with letters, digits and `_`.
const PLACEHOLDER = /:([A-Za-z]\w*)/g;
const HAS_PLACEHOLDER = /:[A-Za-z]/;

/** The pattern split into splats, placeholders and literal runs, each with its offset. */
function* tokens(pattern: string): Generator<[number, string]> {
  const token = /\*|:[A-Za-z]\w*|[^*:]+|:/g;
  for (const found of pattern.matchAll(token)) yield [found.index, found[0]];
}
