// Turns a request's URL path into a manifest path, and a manifest path back into a safe URL path.

/**
 * Decodes a URL pathname (as `new URL(...).pathname` gives it) into the form the manifest uses.
 * Each segment is percent-decoded on its own, runs of `/` collapse into one, and anything that
 * could name a different file than the one written is refused with `null`: malformed escapes,
 * NUL and other control bytes, `.` and `..` segments (also when encoded) and a decoded `/` or `\`.
 */
export function decodePath(pathname: string): string | null {
  // Most paths have nothing to decode or refuse: they are their own manifest path.
  if (PLAIN.test(pathname)) return pathname;
  if (!pathname.startsWith("/")) return null;
  const segments = pathname.split("/");
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const raw = segments[i] as string;
    const last = i === segments.length - 1;
    // Empty segments come from `//` (skipped) or from a trailing slash (kept as meaningful).
    if (raw === "") {
      if (last) out.push("");
      continue;
    }
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (segment === "." || segment === ".." || UNSAFE.test(segment)) return null;
    out.push(segment);
  }
  return "/" + out.join("/");
}

/** Percent-encodes a decoded path for a `Location` header; the result always starts with one `/`. */
export function encodePath(path: string): string {
  const encoded = path
    .split("/")
    .filter((segment, i, all) => segment !== "" || i === all.length - 1)
    .map((segment) => encodeURIComponent(segment))
    .join("/");
  return "/" + encoded;
}

/** The parts of a request's URL the handler uses. */
export interface SplitUrl {
  origin: string;
  pathname: string;
  /** The query with its `?`, or `""`. */
  search: string;
}

/**
 * Splits a request URL without parsing it again (`new URL` costs about as much as the rest of a
 * request's own lookups). `request.url` is already serialized by the URL standard, where the path
 * starts at the first `/` after `//` and the query at the first `?` after it (a `/` or `?` in the
 * user info or host is percent-encoded or refused).
 */
export function splitUrl(href: string): SplitUrl {
  const authority = href.indexOf("//");
  const start = authority === -1 ? -1 : href.indexOf("/", authority + 2);
  // User info is not part of the origin, and a fragment not of the query: leave such URLs (never
  // sent by browsers) to the parser.
  if (start === -1 || href.lastIndexOf("@", start) > authority || href.includes("#")) {
    const url = new URL(href);
    return { origin: url.origin, pathname: url.pathname, search: url.search };
  }
  const query = href.indexOf("?", start);
  const end = query === -1 ? href.length : query;
  return {
    origin: href.slice(0, start),
    pathname: href.slice(start, end),
    // As URL's search: an empty query is "".
    search: query === -1 || query === href.length - 1 ? "" : href.slice(query),
  };
}

// Segments of at least one character with no escape, backslash or control character, none `.` or
// `..`, and an optional trailing slash: decoding such a path gives it back unchanged.
const PLAIN = /^(?=\/)(?:\/(?!\.\.?(?:\/|$))[^/%\\\u0000-\u001f\u007f]+)*\/?$/;

// Control characters (NUL, CR, LF, ...) and both slashes cannot appear in a file name we serve.
const UNSAFE = /[\u0000-\u001f\u007f/\\]/;

/**
 * Whether `pathname` is the one URL of the decoded `path`: each segment encoded as
 * encodeURIComponent does, no empty segment but a trailing one.
 */
export function isCanonicalPath(pathname: string, path: string): boolean {
  // Most paths hold only characters encodeURIComponent leaves alone.
  if (UNRESERVED.test(pathname)) return true;
  return encodePath(path) === pathname;
}

const UNRESERVED = /^(?:\/[A-Za-z0-9\-_.!~*'()]+)*\/?$/;
