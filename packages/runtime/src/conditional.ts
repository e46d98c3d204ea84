// Conditional requests (RFC 9110 §13): entity-tag comparison, HTTP dates and precondition order.

/** The outcome of evaluating a request's preconditions against the selected representation. */
export type PreconditionResult = "proceed" | "not-modified" | "failed";

/** The validators of a representation: its quoted strong entity tag and Last-Modified in seconds. */
export interface Validators {
  etag: string;
  lastModified: number;
}

/**
 * Evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in the order of
 * RFC 9110 §13.2.2, for a GET or HEAD of a representation that exists.
 */
export function evaluatePreconditions(
  headers: Headers,
  validators: Validators,
): PreconditionResult {
  const ifMatch = headers.get("If-Match");
  if (ifMatch !== null) {
    // §13.1.1: strong comparison; `*` matches any current representation.
    if (!matchesEntityTag(ifMatch, validators.etag, "strong")) return "failed";
  } else {
    // §13.1.4: only when If-Match is absent; an invalid date is ignored.
    const since = parseHttpDate(headers.get("If-Unmodified-Since"));
    if (since !== null && validators.lastModified > since) return "failed";
  }

  const ifNoneMatch = headers.get("If-None-Match");
  if (ifNoneMatch !== null) {
    // §13.1.2: weak comparison; when present, If-Modified-Since is not evaluated at all.
    return matchesEntityTag(ifNoneMatch, validators.etag, "weak") ? "not-modified" : "proceed";
  }
  const modifiedSince = parseHttpDate(headers.get("If-Modified-Since"));
  if (modifiedSince !== null && validators.lastModified <= modifiedSince) return "not-modified";
  return "proceed";
}

/**
 * Whether a field value of If-Match / If-None-Match (`*` or a comma-separated list of entity tags)
 * matches `etag`. A malformed member never matches. §8.8.3.2 defines the two comparisons.
 */
export function matchesEntityTag(
  field: string,
  etag: string,
  comparison: "strong" | "weak",
): boolean {
  const value = field.trim();
  if (value === "*") return true;
  const current = opaque(etag);
  if (current === null) return false;
  for (const member of parseEntityTags(value)) {
    if (comparison === "strong" && (member.weak || current.weak)) continue;
    if (member.tag === current.tag) return true;
  }
  return false;
}

/**
 * Parses a list of entity tags (`W/"a", "b"`); stops at the first malformed member. As §5.6.1
 * asks of every list, empty members and whitespace around commas (`"a",, "b"`) are skipped.
 */
export function parseEntityTags(field: string): { weak: boolean; tag: string }[] {
  const tags: { weak: boolean; tag: string }[] = [];
  const pattern = /[ \t,]*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)/y;
  pattern.lastIndex = 0;
  while (pattern.lastIndex < field.length) {
    const match = pattern.exec(field);
    if (!match) break;
    tags.push({ weak: match[1] !== undefined, tag: match[2] as string });
  }
  return tags;
}

/**
 * Parses an HTTP-date (§5.6.7, including the obsolete RFC 850 and asctime forms that
 * `Date.parse` understands) into seconds since the epoch, or `null` when it is not one.
 */
export function parseHttpDate(value: string | null): number | null {
  if (value === null || value.length > 64 || !/^[A-Za-z]{3}/.test(value.trim())) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/** Formats seconds since the epoch as an IMF-fixdate. */
export function formatHttpDate(seconds: number): string {
  return new Date(seconds * 1000).toUTCString();
}

function opaque(etag: string): { weak: boolean; tag: string } | null {
  return parseEntityTags(etag)[0] ?? null;
}
