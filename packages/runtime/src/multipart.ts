// multipart/byteranges (RFC 9110 §14.6): several ranges of one representation in one 206.

import { contentRange, type ByteRange } from "./range.js";
import { slice } from "./storage.js";

/** Most parts a multipart answer has; a request for more gets the whole body (§14.2 allows it). */
export const MAX_PARTS = 16;

/**
 * Ranges closer than this are sent as one part: a part's own header costs about as much, so two
 * parts would not be smaller, and a client asking for many tiny ranges cannot make the answer grow.
 */
export const PART_GAP = 80;

/** How a multipart answer is laid out: its parts, the text before each, and its exact length. */
export interface MultipartPlan {
  /** The Content-Type of the answer, with its boundary. */
  contentType: string;
  ranges: ByteRange[];
  /** The delimiter and part headers before each part's bytes. */
  heads: string[];
  /** The closing delimiter. */
  tail: string;
  /** Content-Length of the whole answer. */
  length: number;
}

/**
 * Plans the answer to several ranges (as {@link joinRanges} gives them) of a representation of
 * `size` bytes and type `type`, or gives `null` to send the whole body instead: when they are
 * more than {@link MAX_PARTS}, or when the answer would not be smaller than the body (§14.2: a
 * server may ignore a Range whose parts would cost more than the whole).
 */
export function planMultipart(
  parts: ByteRange[],
  size: number,
  type: string,
): MultipartPlan | null {
  if (parts.length > MAX_PARTS) return null;
  const boundary = `kv-assets-${crypto.randomUUID()}`;
  const heads = parts.map(
    (range, i) =>
      `${i === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: ${contentRange(range, size)}\r\n\r\n`,
  );
  const tail = `\r\n--${boundary}--\r\n`;
  const bytes = (text: string): number => new TextEncoder().encode(text).byteLength;
  const length =
    heads.reduce((n, head) => n + bytes(head), 0) +
    parts.reduce((n, range) => n + range.end - range.start + 1, 0) +
    bytes(tail);
  if (length >= size) return null;
  return {
    contentType: `multipart/byteranges; boundary=${boundary}`,
    ranges: parts,
    heads,
    tail,
    length,
  };
}

/**
 * The body of a planned answer, from the parts' bodies already opened in order: the delimiters
 * and part headers between them, all joined by the same pump as parts of one stored body.
 */
export function multipartBody(
  plan: MultipartPlan,
  bodies: (ReadableStream | Uint8Array)[],
): ReadableStream {
  const encoder = new TextEncoder();
  const streamOf = (bytes: Uint8Array): ReadableStream => new Response(bytes).body!;
  const pieces = bodies.flatMap((body, i) => [
    streamOf(encoder.encode(plan.heads[i] as string)),
    body instanceof Uint8Array ? streamOf(body) : body,
  ]);
  return slice([...pieces, streamOf(encoder.encode(plan.tail))], 0, plan.length);
}

/** Ranges (sorted, disjoint) with those less than {@link PART_GAP} apart joined into one. */
export function joinRanges(ranges: ByteRange[]): ByteRange[] {
  const joined: ByteRange[] = [];
  for (const range of ranges) {
    const last = joined[joined.length - 1];
    if (last && range.start - last.end - 1 < PART_GAP) last.end = Math.max(last.end, range.end);
    else joined.push({ ...range });
  }
  return joined;
}
