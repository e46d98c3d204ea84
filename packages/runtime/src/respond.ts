// Answers a GET or HEAD for one chosen representation: preconditions, ranges, headers and the body.

import { evaluatePreconditions, formatHttpDate, type Validators } from "./conditional.js";
import { asksSha256, digestField, sha256Base64, wantsSha256 } from "./digest.js";
import { joinRanges, multipartBody, planMultipart, type MultipartPlan } from "./multipart.js";
import { contentRange, ifRangeAllows, parseRange, type ByteRange } from "./range.js";
import type { OpenedBody } from "./storage.js";

/** The representation a response is about, chosen before any storage read. */
export interface Representation {
  /** 200 for the file asked for, 404 for a not-found page (which has no validators or ranges). */
  status: 200 | 404;
  contentType: string;
  /** Entity tag (quoted, strong or weak) and Last-Modified in seconds. */
  validators: Validators;
  /** Bytes of this body (the precompressed size when `encoding` is set). */
  size: number;
  cacheControl: string;
  /** Content-Encoding of a precompressed body; such a body is never served in ranges. */
  encoding?: string;
  /** Whether the response depends on Accept-Encoding. */
  varyEncoding: boolean;
  /** The page's Link header (Early Hints), sent with its 200 and 304. */
  link?: string;
  /** The sha-256 of this body in base64, sent as Repr-Digest (RFC 9530). */
  digest?: string;
  /** Whether the response depends on Accept: the file has alternates in other types. */
  varyAccept?: boolean;
  /** The URL of the file chosen by Accept, when it is not the one asked for (§8.7). */
  contentLocation?: string;
}

/** Largest range whose Content-Digest is computed when a client asks for it: it is read whole. */
export const MAX_DIGESTED_RANGE = 1024 * 1024;

/** Opens the body, or a byte range of it. */
export type OpenBody = (range: ByteRange | null) => Promise<OpenedBody>;

/**
 * Builds the response for `representation`. 304, 412, 416 and HEAD are answered without calling
 * `open`. Resolves `{ missing }` when storage lacks a key, so the caller can log and answer 503.
 * Keep one `Representation` object per file and encoding where you can: its response headers are
 * built once and reused. Pass `rangeHeader` when the caller has read it (see {@link rangeHeaderOf}).
 */
export async function respond(
  request: Request,
  representation: Representation,
  open: OpenBody,
  rangeHeader = rangeHeaderOf(request, representation.status, representation.encoding),
): Promise<Response | { missing: string }> {
  const { status, validators, size, encoding } = representation;
  const prepared = preparedHeaders(representation);
  if (status === 200) {
    const outcome = evaluatePreconditions(request.headers, validators);
    if (outcome === "not-modified")
      return new Response(null, { status: 304, headers: prepared.notModified });
    if (outcome === "failed")
      return new Response(null, { status: 412, headers: { "Cache-Control": "no-cache" } });
  }

  let whole = prepared.whole;
  // Content-Digest is the body's digest: the file's for a whole body, computed for one range.
  let digestRange = false;
  if (representation.digest !== undefined) {
    const wantRepr = request.headers.get("Want-Repr-Digest");
    const wantContent = request.headers.get("Want-Content-Digest");
    if (wantRepr !== null || wantContent !== null) {
      whole = new Headers(whole);
      if (!wantsSha256(wantRepr)) whole.delete("Repr-Digest");
      digestRange = request.method === "GET" && asksSha256(wantContent);
    }
  }

  let range: ByteRange | null = null;
  if (rangeHeader !== null && ifRangeAllows(request.headers.get("If-Range"), validators)) {
    const ranges = parseRange(rangeHeader, size);
    if (ranges === "unsatisfiable") {
      return new Response(null, {
        status: 416,
        headers: {
          "Content-Range": `bytes */${size}`,
          "Accept-Ranges": "bytes",
          "Content-Length": "0",
        },
      });
    }
    const parts = ranges !== null && ranges.length > 1 ? joinRanges(ranges) : ranges;
    if (parts !== null && parts.length === 1) range = parts[0] as ByteRange;
    // Several parts get one multipart/byteranges 206, or the whole body when that is no larger.
    else if (parts !== null && parts.length > 1) {
      const plan = planMultipart(parts, size, representation.contentType);
      if (plan) return multipart(whole, plan, open);
    }
  }

  let headers = whole;
  if (range) {
    headers = new Headers(headers);
    headers.set("Content-Length", String(range.end - range.start + 1));
    headers.set("Content-Range", contentRange(range, size));
  } else if (digestRange) {
    headers.set("Content-Digest", digestField(representation.digest!));
    digestRange = false;
  }
  if (range && digestRange && range.end - range.start >= MAX_DIGESTED_RANGE) digestRange = false;
  // Precompressed bodies are sent as they are: "manual" stops the runtime encoding them again.
  const init: ResponseInit = {
    status: range ? 206 : status,
    headers,
    ...(encoding ? { encodeBody: "manual" } : {}),
  };
  if (request.method === "HEAD") return new Response(null, init);
  const body = await open(range);
  if ("missing" in body) return body;
  if (digestRange) {
    const bytes = new Uint8Array(await new Response(body.body).arrayBuffer());
    headers.set("Content-Digest", digestField(await sha256Base64(bytes)));
    return new Response(bytes, init);
  }
  return new Response(body.body, init);
}

/** Answers several ranges in one 206 (RFC 9110 §14.6), opening every part before it starts. */
async function multipart(
  whole: Headers,
  plan: MultipartPlan,
  open: OpenBody,
): Promise<Response | { missing: string }> {
  const headers = new Headers(whole);
  headers.set("Content-Type", plan.contentType);
  headers.set("Content-Length", String(plan.length));
  const bodies: (ReadableStream | Uint8Array)[] = [];
  for (const range of plan.ranges) {
    const opened = await open(range);
    if ("missing" in opened) {
      for (const body of bodies) if (body instanceof ReadableStream) await body.cancel();
      return opened;
    }
    bodies.push(opened.body);
  }
  return new Response(multipartBody(plan, bodies), { status: 206, headers });
}

/** The Range header when ranges apply: a GET of the identity body of a file that was found. */
export function rangeHeaderOf(
  request: Request,
  status: 200 | 404,
  encoding: string | undefined,
): string | null {
  if (status !== 200 || request.method !== "GET" || encoding) return null;
  return request.headers.get("Range");
}

/** The headers of a representation's responses, built once per representation. */
interface PreparedHeaders {
  /** Of a 200 or 404 (or HEAD of one) with the whole body. */
  whole: Headers;
  /** Of a 304: those of a 200 but Content-Type and Content-Length (RFC 9110 §15.4.5). */
  notModified: Headers;
}

// Building Headers costs more than the rest of a request's own work in workerd, and a Response
// copies the Headers it is given, so the same ones serve every response of a representation.
const built = new WeakMap<Representation, PreparedHeaders>();

function preparedHeaders(representation: Representation): PreparedHeaders {
  let headers = built.get(representation);
  if (headers === undefined) {
    headers = buildHeaders(representation);
    built.set(representation, headers);
  }
  return headers;
}

function buildHeaders(representation: Representation): PreparedHeaders {
  const { status, validators, size, encoding } = representation;
  const shared: Record<string, string> = {};
  const vary = [
    ...(representation.varyEncoding ? ["Accept-Encoding"] : []),
    ...(representation.varyAccept ? ["Accept"] : []),
  ];
  if (vary.length > 0) shared["Vary"] = vary.join(", ");
  if (representation.contentLocation) shared["Content-Location"] = representation.contentLocation;
  if (status === 404) {
    shared["Cache-Control"] = "no-cache";
  } else {
    shared["ETag"] = validators.etag;
    shared["Last-Modified"] = formatHttpDate(validators.lastModified);
    shared["Cache-Control"] = representation.cacheControl;
    shared["Accept-Ranges"] = "bytes";
    if (representation.link) shared["Link"] = representation.link;
  }
  const whole: Record<string, string> = {
    "Content-Type": representation.contentType,
    ...shared,
    "Content-Length": String(size),
  };
  if (encoding) whole["Content-Encoding"] = encoding;
  if (representation.digest !== undefined)
    whole["Repr-Digest"] = digestField(representation.digest);
  return { whole: new Headers(whole), notModified: new Headers(shared) };
}
