// Answers a GET or HEAD for one chosen representation: preconditions, ranges, headers and the body.

import { evaluatePreconditions, formatHttpDate, type Validators } from "./conditional.js";
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
}

/** Opens the body, or a byte range of it. */
export type OpenBody = (range: ByteRange | null) => Promise<OpenedBody>;

/**
 * Builds the response for `representation`. 304, 412, 416 and HEAD are answered without calling
 * `open`. Resolves `{ missing }` when storage lacks a key, so the caller can log and answer 503.
 */
export async function respond(
  request: Request,
  representation: Representation,
  open: OpenBody,
): Promise<Response | { missing: string }> {
  const { status, validators, size, encoding } = representation;
  const headers = new Headers({ "Content-Type": representation.contentType });
  if (representation.varyEncoding) headers.set("Vary", "Accept-Encoding");
  if (status === 404) {
    headers.set("Cache-Control", "no-cache");
  } else {
    headers.set("ETag", validators.etag);
    headers.set("Last-Modified", formatHttpDate(validators.lastModified));
    headers.set("Cache-Control", representation.cacheControl);
    headers.set("Accept-Ranges", "bytes");
    const outcome = evaluatePreconditions(request.headers, validators);
    if (outcome === "not-modified") {
      headers.delete("Content-Type");
      return new Response(null, { status: 304, headers });
    }
    if (outcome === "failed")
      return new Response(null, { status: 412, headers: { "Cache-Control": "no-cache" } });
  }

  let range: ByteRange | null = null;
  const rangeHeader = rangeHeaderOf(request, status, encoding);
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
    // Several disjoint ranges get the whole body (RFC 9110 §14.2 lets a server ignore Range).
    if (ranges !== null && ranges.length === 1) range = ranges[0] as ByteRange;
  }

  headers.set("Content-Length", String(range ? range.end - range.start + 1 : size));
  if (range) headers.set("Content-Range", contentRange(range, size));
  if (encoding) headers.set("Content-Encoding", encoding);
  // Precompressed bodies are sent as they are: "manual" stops the runtime encoding them again.
  const init: ResponseInit = {
    status: range ? 206 : status,
    headers,
    ...(encoding ? { encodeBody: "manual" } : {}),
  };
  if (request.method === "HEAD") return new Response(null, init);
  const body = await open(range);
  if ("missing" in body) return body;
  return new Response(body.body, init);
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
